"""The CRE map: seqlets named by the motifs they hold and placed relative to genes."""
