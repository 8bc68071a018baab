## sdk/local.mk - the public module SDK: headers, pkg-config file, example

cursusincludedir = $(includedir)/cursus
cursusinclude_HEADERS = \
	sdk/include/cursus/cursus.h \
	sdk/include/cursus/common.h \
	sdk/include/cursus/module.h \
	sdk/include/cursus/host.h \
	sdk/include/cursus/channel.h \
	sdk/include/cursus/protocol.h \
	sdk/include/cursus/mapping.h \
	sdk/include/cursus/lookup.h \
	sdk/include/cursus/directory.h \
	sdk/include/cursus/store.h \
	sdk/include/cursus/auth.h \
	sdk/include/cursus/filter.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = sdk/cursus-sdk.pc
DISTCLEANFILES += sdk/cursus-sdk.pc

sdkexampledir = $(docdir)/examples/channel_drop
dist_sdkexample_DATA = \
	sdk/examples/channel_drop/channel_drop.c \
	sdk/examples/channel_drop/Makefile \
	sdk/examples/channel_drop/README.md

mapcsvexampledir = $(docdir)/examples/map_csv
dist_mapcsvexample_DATA = \
	sdk/examples/map_csv/map_csv.c \
	sdk/examples/map_csv/Makefile \
	sdk/examples/map_csv/README.md

# the ABI record and its check (sdk/abi/check.sh, run by .ci/test)
EXTRA_DIST += sdk/abi/probe.c sdk/abi/check.sh sdk/abi/baseline.abi

filtertagexampledir = $(docdir)/examples/filter_tag
dist_filtertagexample_DATA = \
	sdk/examples/filter_tag/filter_tag.c \
	sdk/examples/filter_tag/Makefile \
	sdk/examples/filter_tag/README.md
