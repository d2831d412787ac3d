FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md rules.toml responders.sample.csv ./
COPY ews ews
COPY ingest ingest
COPY rules rules
COPY notifiers notifiers
RUN pip install --no-cache-dir . && useradd --system ews
USER ews
ENV EWS_HOST=0.0.0.0 EWS_PORT=8080 EWS_RULES_FILE=/app/rules.toml
EXPOSE 8080
CMD ["ews", "serve"]
