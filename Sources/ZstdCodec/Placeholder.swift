// ZstdCodec
