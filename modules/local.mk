## modules/local.mk - every module's fragment

