## docs/local.mk - documentation

dist_doc_DATA += docs/rewriting.md
