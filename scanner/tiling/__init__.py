"""Windows over the genome: tiles along contigs, windows around genes, and the map
from each window base back to its genome coordinate."""
