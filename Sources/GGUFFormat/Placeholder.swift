// GGUFFormat
