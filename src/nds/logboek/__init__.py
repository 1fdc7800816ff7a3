"""Logboek Dataverwerkingen (LDV): records of every processing of personal data, per data subject,
a versioned register of processing activities, a read API and tamper evidence."""
