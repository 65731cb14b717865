FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
WORKDIR /app
# torch first, from the CPU index: a bare `torch` requirement would pull a multi-GB CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml constraints.txt README.md ./
COPY agent agent
COPY tools tools
COPY kb kb
COPY channels channels
COPY backoffice backoffice
COPY evals evals
RUN pip install --no-cache-dir -c constraints.txt .
EXPOSE 8000
CMD ["warmline", "serve", "--host", "0.0.0.0", "--port", "8000"]
