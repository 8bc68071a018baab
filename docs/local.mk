## docs/local.mk - documentation

