DROP TABLE escalation_policies;
