"""python -m points.stamps --config ... expire|reset [--as-of ...]: see points.stamps.jobs."""
from points.stamps.jobs import main

if __name__ == "__main__":
    main()
