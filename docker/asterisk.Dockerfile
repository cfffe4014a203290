# Asterisk 22 from Debian sid (Debian 12 has no asterisk package), as the sandbox uses.
# The configuration is not baked in: docker-compose.yml mounts the directory rendered by
# scripts/renderAsteriskConfig.ts from the same environment the router reads.
FROM debian:sid

# The mirror's sid Release file can be past its Valid-Until date: apt refuses it without the flag.
# The packaged configuration files warn (users.conf) or open ports (manager.conf): they go, and
# only ours are mounted.
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false install -y --no-install-recommends \
      asterisk asterisk-modules \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /etc/asterisk/* \
 && install -d -o asterisk -g asterisk /run/asterisk /var/spool/asterisk/recording

# The rendered files arrive owned by root with mode 0640 (ari.conf holds the ARI password);
# Asterisk reads them after dropping to the asterisk user.
CMD ["sh", "-c", "chgrp -R asterisk /etc/asterisk && chmod -R g+rX /etc/asterisk && chown asterisk:asterisk /var/spool/asterisk/recording && exec /usr/sbin/asterisk -f -n -U asterisk -G asterisk"]

HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
  CMD ["/usr/sbin/asterisk", "-rx", "core show uptime"]
