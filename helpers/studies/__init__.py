"""Study-specific analysis steps shared by a study's chapters (``helpers/studies/<study>.py``).

Each returns tidy DataFrames; the chapters narrate, record and plot."""
