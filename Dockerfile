FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md rules.toml responders.sample.csv ./
COPY ews ews
COPY ingest ingest
COPY rules rules
COPY notifiers notifiers
# The incident-type model is built from the shipped corpus at image build (its manifest holds the sha256).
ENV EWS_MODEL_FILE=/app/models/incident_types.skops
RUN pip install --no-cache-dir . && ews model train && useradd --system ews
USER ews
ENV EWS_HOST=0.0.0.0 EWS_PORT=8080 EWS_RULES_FILE=/app/rules.toml
EXPOSE 8080
CMD ["ews", "serve"]
