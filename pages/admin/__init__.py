"""Admin pages: settings, accounts, audit log, email, outbox, templates, questionnaire."""
