# The pkg-config modules ocspd builds against; shared by Makefile and fuzz/Makefile.
PKGS = openssl libcurl inih libsystemd libmicrohttpd json-c hiredis
