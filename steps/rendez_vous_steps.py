"""Steps of the appointment flows, judged functionally (see client.appointment_rules)."""
