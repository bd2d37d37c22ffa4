"""Clinic staff pages: charts, documents, contacts, the SMP worklist, registrations."""
