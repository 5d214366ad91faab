"""Host side of the sockconf harness protocol: wire codec, transports, client, test vectors."""
