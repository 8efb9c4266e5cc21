/* systemd integration, all of it: socket activation. The units start ocstopd
 * as Type=simple, so there is no readiness to report. */
#ifndef OCSTOP_IO_SD_H
#define OCSTOP_IO_SD_H

/* The listening socket systemd passed (LISTEN_FDS/LISTEN_PID), or -1. */
int sd_listen_fd(void);

#endif
