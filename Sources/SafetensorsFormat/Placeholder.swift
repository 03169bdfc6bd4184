// SafetensorsFormat
