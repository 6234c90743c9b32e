"""Email intake over SMTP (aiosmtpd, in Heard's own event loop) and outbound mail via a relay."""
