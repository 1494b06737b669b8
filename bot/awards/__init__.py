"""The award season: nominations by level (season.py), complaints and authorship disputes
(disputes.py), the dossier an officer files (dossier.py)."""
