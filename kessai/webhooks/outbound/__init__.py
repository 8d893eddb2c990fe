"""Outbound webhooks to the shop: endpoints, Standard-Webhooks signing, fan-out from the outbox,
delivery with exponential backoff for up to three days, delivery log and manual resend."""
