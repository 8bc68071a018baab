"""pytest fixtures shared by the integration tests."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import cursus_harness  # noqa: E402


@pytest.fixture
def cursus(tmp_path, request):
    """A factory of Cursus servers that are always stopped after the test;
    their log is printed when the test fails."""
    servers = []

    def make(**kw):
        d = tmp_path / ("srv%d" % len(servers))
        d.mkdir()
        srv = cursus_harness.Server(d, **kw)
        servers.append(srv)
        return srv

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and \
        request.node.rep_call.failed
    for srv in servers:
        srv.stop()
        if failed:
            sys.stderr.write("---- log of %s ----\n%s\n" % (srv.dir, srv.log()))


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
