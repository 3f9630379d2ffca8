# PostgreSQL 15 with the wal2json output plugin, for docker-compose.yml.
# The official image is Debian based and has the PGDG apt repository set up.
FROM postgres:15
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15-wal2json \
 && rm -rf /var/lib/apt/lists/*
