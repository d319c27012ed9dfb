"""Colorize photos through a running TF Serving server: ``kcolor client``.

Usage:
    python export/client.py rest PHOTOS ... -o OUT [--server http://localhost:8501]
    python export/client.py grpc PHOTOS ... -o OUT [--server localhost:8500]
        [--model-name colorizer] [--samples N --seed S]   (GAN: colorizer_gan)

The library behind it is kcolor.deploy.serving (RestClient, GrpcClient) and
kcolor.jobs.colorize_served.
"""

import sys

from kcolor import cli

if __name__ == "__main__":
    sys.exit(cli.main(["client", *sys.argv[1:]]))
