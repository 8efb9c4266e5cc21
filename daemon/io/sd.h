/* systemd integration, all of it: socket activation and readiness. */
#ifndef OCSTOP_IO_SD_H
#define OCSTOP_IO_SD_H

/* The listening socket systemd passed (LISTEN_FDS/LISTEN_PID), or -1. */
int sd_listen_fd(void);
/* Tell systemd we are ready; a no-op without libsystemd or outside systemd. */
void sd_ready(void);

#endif
