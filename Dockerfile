# NetVigil image for production (collectors, workers, app). Built where a
# Docker engine runs; the local development stack does not use it.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends snmp iputils-ping \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/netvigil
COPY pyproject.toml README.md ./
COPY netvigil ./netvigil
COPY ingest ./ingest
COPY streams ./streams
COPY models ./models
COPY app_streamlit ./app_streamlit
COPY sql ./sql
COPY config ./config
RUN pip install --no-cache-dir -e .
RUN useradd --system --uid 10001 netvigil
USER netvigil
ENTRYPOINT ["netvigil"]
