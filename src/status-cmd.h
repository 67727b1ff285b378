/*
 * status-cmd — the "ocspd status" command: asks a running daemon's
 * --status-listen server (status.c) for /status and prints it for an
 * operator or a Nagios-style check. Runs in its own process, blocking.
 */
#ifndef OCSPD_STATUS_CMD_H
#define OCSPD_STATUS_CMD_H

/*
 * "ocspd status [ADDR:PORT]": fetches /status and prints a table, soonest
 * expiry first. argv[0] is "status". Without ADDR:PORT, the status-listen of
 * the config file (-c FILE, or the default places) is used. Returns the exit
 * status, Nagios style: 0 every certificate stapled (or with no OCSP URL,
 * or not tried yet), 1 renewal failing but a valid staple still served,
 * 2 failing with no valid staple, or revoked; 3 the daemon could not be
 * asked (an "OCSPD UNKNOWN - why" line on stdout, where Nagios reads it;
 * usage errors on stderr).
 */
int status_command(int argc, char **argv);

#endif
