"""What a catalogue entry is: its fields, vocabularies, classification and codes, rules and the messages they speak."""
