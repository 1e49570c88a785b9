# The faust-a2a worker image: `docker compose up` builds and runs it next to Kafka.
FROM python:3.11-slim
WORKDIR /srv/faust-a2a
COPY pyproject.toml README.md ./
COPY app ./app
COPY agents ./agents
COPY tables ./tables
RUN pip install --no-cache-dir .
ENV FAUST_A2A_DATADIR=/var/lib/faust-a2a
VOLUME /var/lib/faust-a2a
EXPOSE 6066
CMD ["faust", "-A", "app", "worker", "-l", "info"]
