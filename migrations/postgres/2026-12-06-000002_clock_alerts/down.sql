DROP TABLE clock_alerts;
