"""Seqlets: stretches of high contribution, called from attribution tracks."""
