# TradeFlow production image. One image, three roles (see docker-compose.yml):
#   web     uvicorn tradeflow.asgi:application --host 0.0.0.0 --port 8000 --workers 2   (the default CMD)
#   worker  celery -A tradeflow worker -l info
#   beat    celery -A tradeflow beat -l info --schedule /tmp/celerybeat-schedule
# Configuration comes from the environment only: see the README's variable table.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# A fixed, unprivileged user. The code stays owned by root (read-only for the app);
# only var/ (collected static files) belongs to the app user.
RUN groupadd --system --gid 10001 tradeflow \
 && useradd --system --uid 10001 --gid tradeflow --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin tradeflow

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN install -d -o tradeflow -g tradeflow /app/var

ENV DEBUG=0
USER tradeflow

# Settings refuse to load without these when DEBUG=0. The values below are throwaway
# placeholders that exist only for this one command; they are not in the image's
# environment. The real ones are given at run time.
RUN SECRET_KEY=build-only-collectstatic-placeholder-never-used-at-runtime-0000 \
    ALLOWED_HOSTS=localhost \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1mZXJuZXQta2V5LW5vdC1zZWNyZXQ= \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
 && rm -f /tmp/build.sqlite3

EXPOSE 8000

CMD ["sh", "-c", "exec uvicorn tradeflow.asgi:application --host 0.0.0.0 --port 8000 --workers ${WEB_WORKERS:-2} --lifespan off --no-proxy-headers"]
