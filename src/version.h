#define OCSPD_VERSION "0.1.0"
