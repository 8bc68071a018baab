## docs/local.mk - documentation, installed to $(docdir)

dist_doc_DATA += \
	docs/module-guide.md \
	docs/configuration.md \
	docs/processes.md \
	docs/channel-keywords.md \
	docs/dispatcher.md
dist_doc_DATA += docs/queue-format.md docs/mta-inbound.md
dist_doc_DATA += docs/directory.md
dist_doc_DATA += docs/rewriting.md
dist_doc_DATA += docs/job-controller.md docs/channels.md docs/qm.md
dist_doc_DATA += docs/store.md
dist_doc_DATA += docs/imap.md docs/pop3.md
dist_doc_DATA += docs/filters.md
