# The faust-a2a image: `docker compose up` runs it as the worker and as the HTTP gateway.
FROM python:3.11-slim
WORKDIR /srv/faust-a2a
COPY pyproject.toml README.md ./
COPY app ./app
COPY agents ./agents
COPY tables ./tables
RUN pip install --no-cache-dir ".[gateway]"
ENV FAUST_A2A_DATADIR=/var/lib/faust-a2a
VOLUME /var/lib/faust-a2a
EXPOSE 6066 8080
CMD ["faust", "-A", "app", "worker", "-l", "info"]
