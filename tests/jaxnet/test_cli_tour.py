import subprocess
import sys


def test_tour_prints_the_seed_numbers():
    out = subprocess.run([sys.executable, "-m", "jaxnet", "tour"], capture_output=True, text=True, check=True).stdout
    for expected in ["0.26894143", "0.3168271 0.6962791", "0.0975", "0.510825", "2.302584", "[6. 8.]",
                     "0.852", "Total params: 101,770", "mean |backprop - numerical|"]:
        assert expected in out, expected
