PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
export PREFIX SYSCONFDIR DESTDIR

.PHONY: demo test install uninstall
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
install:
	bash scripts/install.sh install
uninstall:
	bash scripts/install.sh uninstall
