DROP TABLE clock_filings;
DROP TABLE clocks;
DROP TABLE clock_decisions;
