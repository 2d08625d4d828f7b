"""The trader's desk: the dashboard, the kill switch over every account and
strategy, and the public benchmarks page. The top floor: it reads from every app
and no app imports it."""
