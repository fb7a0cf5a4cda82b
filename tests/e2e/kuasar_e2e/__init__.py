"""kuasar-c e2e harness: private containerd instances (1.7 and 2.x) driven through CRI, our
sandboxers, test images and a test CNI plugin, with a cleanup guarantee. See tests/e2e/README.md."""
