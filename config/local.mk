## config/local.mk - the default configuration, installed to SYSCONFDIR/cursus

