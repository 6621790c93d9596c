"""What theory predicts and how to compare: closed forms, statistics, claims, reports."""
