DROP TABLE escalation_notices;
DROP TABLE escalations;
