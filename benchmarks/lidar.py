"""`sporbar lidar` on one tile vs a pure laspy + lazrs decode of the same LAZ files.

    .venv/bin/python benchmarks/lidar.py [--repeat 3] [--density 5] [--tile-size 1280] [--epsg 25833]
    .venv/bin/python benchmarks/lidar.py --memory 5:320,5:640,5:1280,5:2560 [--block-points 10000000]

Writes the demo's synthetic lidar (``sporbar.demo.lidar``: LAS 1.4 point format 6, LAZ) for
one grid tile of ``--tile-size`` m at ``--density`` points/m2 in 1000 m delivery tiles
(``--epsg 25832`` reprojects the delivery into UTM 32 first, so the stage transforms every
point back), then times in alternating repeats:

* the floor: every point of the delivery files that overlap the tile decoded by laspy + lazrs
  in the stage's chunks, with the dimensions the stage reads (x, y, z, classification,
  return number, withheld) materialised as numpy arrays;
* products: ``sporbar.lidar.products.compute_products`` (CRS check, reading, class roles,
  spilling to blocks, per block the fine TIN DTM / DSM / pit-free CHM, the grid's
  DTM/DSM/CHM/density, the area-based metrics and terrain slope/aspect; fine models not written);
* the stage: ``sporbar.lidar.run.run_lidar`` (the above plus the fine and grid COGs, thumbnail,
  checksums, item).

``--memory`` instead runs the stage once per DENSITY:TILE_SIZE in a fresh (exec'd) process and
prints its peak memory (``VmHWM``), to show that memory follows ``lidar.block_points``, not the
tile's point count.

``--large SIZE:DENSITY`` (e.g. ``20000:5``, two billion points) writes one 1000 m delivery tile
of the demo's lidar and copies it over the whole tile, each copy moved by its LAS header's
offsets and bounds (the compressed points are the same bytes, so a 20 km tile takes minutes,
not the generator's hour), then runs ``compute_products`` with the fine models written to COGs
(as the stage does) in an exec'd process and prints its peak memory, time and spill size.
``--work`` puts the files (LAZ, spill and COGs: tens of GB at 20 km) in a folder of your choice.

and, as a second floor, the same decode of only the dimensions the stage reads (LAZ 1.4
layers; the stage decompresses only those). It prints the medians of wall and CPU time (all
threads; steadier on a shared machine) and their ratios to the floor (goal: products <= 1.3x),
the peak memory (VmHWM) of this process, and a COPC spatial query of a quarter of
../shared/realdata/lidar/simple.copc.laz against reading the whole file. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]


def build(work: Path, density: float, tile_size: int, epsg: int) -> tuple[object, str, list[Path], list[Path]]:
    """(config, tile, LAZ paths, raw item paths) of one demo tile's delivery."""
    import laspy
    import pyproj

    from sporbar.config import Config, validate
    from sporbar.demo.landscape import make_landscape
    from sporbar.demo.lidar import write_lidar_tiles
    from sporbar.fetch.demo_lidar import SOURCE
    from sporbar.stac.record import RunContext
    from sporbar.workflow import plan

    data = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    x0, y0 = 268_800 // tile_size * tile_size, 7_029_760 // tile_size * tile_size  # on the grid's tile edges
    data["root"] = str(work / "results")
    data["area"] = {"name": "bench-lidar", "bbox": [x0, y0, x0 + tile_size, y0 + tile_size]}
    data["grid"]["tile_size"] = tile_size
    data["demo"].update(lidar_density=density, lidar_tile_size=1000)
    cfg = Config(validate(data))
    landscape = make_landscape(tuple(cfg.data["area"]["bbox"]), seed=cfg.data["demo"]["seed"])
    source = work / "demo-source"
    write_lidar_tiles(cfg, landscape, source)
    if epsg != 25833:
        to = pyproj.Transformer.from_crs(25833, epsg, always_xy=True)
        for f in sorted((source / "lidar").glob("*.laz")):
            las = laspy.read(str(f))
            x, y = to.transform(np.asarray(las.x), np.asarray(las.y))
            las.header.offsets = np.array([np.floor(x.min()), np.floor(y.min()), 0.0])
            las.points = laspy.ScaleAwarePointRecord(las.points.array.copy(), las.header.point_format,
                                                     las.header.scales, las.header.offsets)
            las.x, las.y = x, y
            las.header.add_crs(pyproj.CRS.from_epsg(epsg))
            las.write(str(f))
    tile = cfg.tiles[0]
    items = []
    for lt in plan.Plan(cfg).lidar_tiles_for(tile):
        entry = SOURCE.listing(source_dir=source).entry(lt)
        p = work / "raw" / lt / "item.json"
        SOURCE.fetch(RunContext.current(config_hash=cfg.hash), cfg, entry, p)
        items.append(p)
    lazs = [next(p.parent.glob("*.laz")) for p in items]
    return cfg, tile, lazs, items


def decode(lazs: list[Path], *, needed_only: bool = False) -> int:
    """Decode every point of ``lazs`` with laspy + lazrs, in the stage's chunks; returns the count.

    ``needed_only``: decompress only the layers the stage reads (``sporbar.lidar.read.NEEDED``).
    """
    import laspy

    from sporbar.lidar.read import CHUNK_POINTS, NEEDED

    n = 0
    for f in lazs:
        sel = NEEDED if needed_only else laspy.DecompressionSelection.all()
        with laspy.open(str(f), decompression_selection=sel) as reader:
            for chunk in reader.chunk_iterator(CHUNK_POINTS):
                x, y, z = np.asarray(chunk.x), np.asarray(chunk.y), np.asarray(chunk.z)
                np.asarray(chunk.classification)
                np.asarray(chunk.return_number)
                np.asarray(chunk.withheld)
                n += int(x.size + 0 * (y.size + z.size))
    return n


def copc_query(repeat: int = 50) -> None:
    """Time the points of a quarter of ../shared's simple.copc.laz by octree query vs reading the whole file."""
    import laspy

    from sporbar.las import read_header
    from sporbar.lidar.read import copc_chunks

    path = REPO.parent / "shared" / "realdata" / "lidar" / "simple.copc.laz"
    if not path.is_file():
        print(f"COPC: {path} absent, not measured")
        return
    h = read_header(path)
    x0, y0, x1, y1 = float(h.mins[0]), float(h.mins[1]), float(h.maxs[0]), float(h.maxs[1])
    quarter = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    t = time.perf_counter()
    for _ in range(repeat):
        got = sum(len(c) for c in copc_chunks(path, h, quarter, 2_000_000))
    query = (time.perf_counter() - t) / repeat
    t = time.perf_counter()
    for _ in range(repeat):
        whole = len(laspy.read(str(path)).points)
    read = (time.perf_counter() - t) / repeat
    print(f"COPC {path.name}: query of a quarter ({got} of {whole} points) {query * 1e3:.1f} ms, "
          f"whole file {read * 1e3:.1f} ms, ratio {query / read:.2f}")


def vm_hwm_mib() -> float:
    """Peak resident memory of this process (``VmHWM``, MiB); an exec'd process starts its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: may include a parent's peak


def peak_memory(work: Path) -> None:
    """Run the stage on the tile written by :func:`memory_table` into ``work``; print points and peak memory."""
    from sporbar.config import Config, validate
    from sporbar.lidar.run import run_lidar
    from sporbar.stac.record import RunContext

    cfg = Config(validate(yaml.safe_load((work / "config.yaml").read_text())))
    tile = (work / "tile.txt").read_text().strip()
    items = [Path(p) for p in (work / "items.txt").read_text().split()]
    import sporbar.lidar.run as stage

    products_peak = []
    compute = stage.compute_products  # type: ignore[attr-defined]

    def measured(*args: object, **kw: object) -> object:
        out = compute(*args, **kw)  # type: ignore[arg-type]
        products_peak.append(vm_hwm_mib())  # the peak so far: reading, blocks, fine COG windows
        return out

    stage.compute_products = measured  # type: ignore[attr-defined,assignment]
    before = vm_hwm_mib()
    t, c = time.perf_counter(), time.process_time()
    d = run_lidar(cfg, tile, items, work / "out" / "item.json", ctx=RunContext.current())
    print(f"MEMORY {d['properties']['sporbar:point_count']} {cfg.data['lidar']['block_points']} "
          f"{vm_hwm_mib():.0f} {before:.0f} {time.perf_counter() - t:.1f} {time.process_time() - c:.1f} "
          f"{products_peak[0]:.0f}")


def memory_table(sizes: list[tuple[float, int]], block_points: int) -> None:
    """Peak memory of the stage at each (density, tile size): data made here, the stage in a fresh process.

    The child is exec'd, so its ``VmHWM`` is its own (``ru_maxrss`` would carry this generator's peak).
    """
    import subprocess

    print("| points on the tile | tile, density | block_points | peak memory (VmHWM) of the stage process "
          "| of it by the end of compute_products | after imports | stage wall / CPU |")
    print("|---|---|---|---|---|---|---|")
    for density, size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            t = time.perf_counter()
            cfg, tile, _, items = build(work, density, size, 25833)
            print(f"(generated {size} m at {density:g} pts/m2 in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
            data = dict(cfg.data)  # type: ignore[attr-defined]
            data["lidar"] = {**data["lidar"], "block_points": block_points}
            (work / "config.yaml").write_text(yaml.safe_dump(data))
            (work / "tile.txt").write_text(tile)
            (work / "items.txt").write_text(" ".join(map(str, items)))
            out = subprocess.run([sys.executable, __file__, "--peak-memory", str(work)],
                                 capture_output=True, text=True, check=True)
            line = next(x for x in out.stdout.splitlines() if x.startswith("MEMORY"))
            n, block, peak, before, wall, cpu, products = line.split()[1:]
            print(f"| {int(n):,} | {size} m, {density:g} pts/m2 | {int(block):,} | {peak} MiB | {products} MiB "
                  f"| {before} MiB | {wall} s / {cpu} s |", flush=True)


#: LAS header: x/y offsets and max/min x/y (little-endian float64) at these byte positions
_OFFSET_X, _OFFSET_Y, _MAX_X, _MIN_X, _MAX_Y, _MIN_Y = 155, 163, 179, 187, 195, 203


def large_tile(work: Path, size: int, density: float) -> None:
    """Write a ``size`` m tile of copies of one 1000 m delivery tile and run ``compute_products`` on it (exec'd)."""
    import struct
    import subprocess

    from sporbar.las import read_header

    t = time.perf_counter()
    cfg, _, lazs, _ = build(work / "one", density, 1000, 25833)
    src = max(lazs, key=lambda f: f.stat().st_size)
    h = read_header(src)
    x0, y0 = float(h.mins[0]) // 1000 * 1000, float(h.mins[1]) // 1000 * 1000
    data = bytearray(src.read_bytes())
    header = bytes(data[:256])
    lidar = work / "lidar"
    lidar.mkdir(parents=True, exist_ok=True)
    n = size // 1000
    for i in range(n):
        for j in range(n):
            dx, dy = i * 1000.0, j * 1000.0
            for pos, shift in ((_OFFSET_X, dx), (_OFFSET_Y, dy), (_MAX_X, dx), (_MIN_X, dx), (_MAX_Y, dy),
                               (_MIN_Y, dy)):
                struct.pack_into("<d", data, pos, struct.unpack_from("<d", header, pos)[0] + shift)
            (lidar / f"copy_{i:03d}_{j:03d}.laz").write_bytes(data)
    print(f"(wrote {n * n} copies of {src.name}, {h.point_count:,} points each, in {time.perf_counter() - t:.0f} s)",
          file=sys.stderr, flush=True)
    (work / "tile.txt").write_text(f"{x0} {y0} {size}")
    out = subprocess.run([sys.executable, __file__, "--large-run", str(work)], capture_output=True, text=True)
    print(out.stdout, out.stderr[-3000:] if out.returncode else "", flush=True)


def large_run(work: Path) -> None:
    """``compute_products`` over every LAZ in ``work/lidar`` on the tile in ``work/tile.txt``; prints the peak."""
    from contextlib import ExitStack

    import rasterio
    from affine import Affine
    from odc.geo.geobox import GeoBox

    import sporbar.lidar.spill as spill_module
    from sporbar.lidar.classes import lidar_defaults
    from sporbar.lidar.products import compute_products
    from sporbar.lidar.run import GDAL_CACHE_MB
    from sporbar.lidar_bands import FINE
    from sporbar.raster import cog_writer

    x0, y0, size = (float(v) for v in (work / "tile.txt").read_text().split())
    cfg = lidar_defaults()
    gb = GeoBox((int(size) // 10, int(size) // 10), Affine(10, 0, x0, 0, -10, y0 + size), "EPSG:25833")
    fine_gb = GeoBox((int(size), int(size)), Affine(1, 0, x0, 0, -1, y0 + size), "EPSG:25833")
    paths = sorted((work / "lidar").glob("*.laz"))
    spill = work / "spill"
    spill.mkdir(exist_ok=True)
    read: list[tuple[float, float, float]] = []  # peak, wall and CPU when the first block is loaded: all read
    load = spill_module.BlockSpill.load

    def first_load(self: object, block: int) -> object:
        if not read:
            read.append((vm_hwm_mib(), time.perf_counter() - t, time.process_time() - c))
            print(f"(read and spilled in {read[0][1]:.0f} s, peak so far {read[0][0]:.0f} MiB)", file=sys.stderr,
                  flush=True)
        return load(self, block)  # type: ignore[arg-type]

    spill_module.BlockSpill.load = first_load  # type: ignore[assignment,method-assign]
    before = vm_hwm_mib()
    t, c = time.perf_counter(), time.process_time()
    with ExitStack() as stack:
        stack.enter_context(rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB))  # as the stage bounds it
        sinks = {key: stack.enter_context(cog_writer(work / f"{key}.tif", fine_gb, count=1, dtype="float32",
                                                     nodata=float("nan"), band_names=[key], scratch=work))
                 for key in FINE}
        products = compute_products(paths, gb, lidar=cfg, fine=sinks, spill_dir=spill)
        after_products = vm_hwm_mib()
        spilled = sum(p.stat().st_size for p in spill.iterdir())
    print(f"| {products.points:,} | {size / 1000:g} km, {len(paths)} files | {cfg['block_points']:,} "
          f"| {vm_hwm_mib():.0f} MiB | {read[0][0]:.0f} MiB | {after_products:.0f} MiB | {before:.0f} MiB "
          f"| {read[0][1]:.0f} s / {read[0][2]:.0f} s "
          f"| {time.perf_counter() - t:.0f} s / {time.process_time() - c:.0f} s | {spilled / 2**30:.1f} GiB |")


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--density", type=float, default=5.0)
    ap.add_argument("--tile-size", type=int, default=1280)
    ap.add_argument("--epsg", type=int, default=25833)
    ap.add_argument("--memory", default="",
                    help="peak memory of the stage at DENSITY:TILE_SIZE,... (fresh process each), e.g. 5:1280,20:1280")
    ap.add_argument("--block-points", type=int, default=10_000_000, help="lidar.block_points of the --memory runs")
    ap.add_argument("--large", default="", help="SIZE:DENSITY: one tile of SIZE m (a multiple of 1000) of copied "
                    "delivery tiles, e.g. 20000:5 (two billion points); its peak memory")
    ap.add_argument("--work", default="", help="folder for --large's files (default: a temporary one)")
    ap.add_argument("--peak-memory", default="", help=argparse.SUPPRESS)
    ap.add_argument("--large-run", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.large_run:
        large_run(Path(args.large_run))
        return
    if args.large:
        size, density = args.large.split(":")
        print("| points on the tile | tile | block_points | peak memory (VmHWM) | by the end of reading "
              "| by the end of compute_products | after imports | reading wall / CPU | wall / CPU | spilled |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        with tempfile.TemporaryDirectory(dir=args.work or None) as tmp:
            large_tile(Path(tmp), int(size), float(density))
        return
    if args.peak_memory:
        peak_memory(Path(args.peak_memory))
        return
    if args.memory:
        memory_table([(float(d), int(s)) for d, s in (p.split(":") for p in args.memory.split(","))],
                     args.block_points)
        return

    from sporbar.lidar.classes import PointClasses
    from sporbar.lidar.products import compute_products
    from sporbar.lidar.run import run_lidar
    from sporbar.stac.record import RunContext

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cfg, tile, lazs, items = build(work, args.density, args.tile_size, args.epsg)
        geobox = cfg.grid.geobox(tile)  # type: ignore[attr-defined]
        lidar_cfg = cfg.data["lidar"]  # type: ignore[attr-defined]
        classes = PointClasses.from_config(lidar_cfg)
        total = decode(lazs)
        times: dict[str, list[float]] = {"decode": [], "decode_needed": [], "products": [], "stage": []}
        cpu: dict[str, list[float]] = {k: [] for k in times}
        points = 0

        def timed(key: str, work_fn: object) -> object:
            t, c = time.perf_counter(), time.process_time()
            out = work_fn()  # type: ignore[operator]
            times[key].append(time.perf_counter() - t)
            cpu[key].append(time.process_time() - c)
            return out

        for i in range(args.repeat):
            timed("decode", lambda: decode(lazs))
            timed("decode_needed", lambda: decode(lazs, needed_only=True))
            points = timed("products", lambda: compute_products(  # type: ignore[union-attr]
                lazs, geobox, classes=classes, lidar=lidar_cfg)).points
            out = work / "out" / str(i) / "item.json"
            timed("stage", lambda out=out: run_lidar(cfg, tile, items, out, ctx=RunContext.current()))  # type: ignore[arg-type]
        med = {k: statistics.median(v) for k, v in times.items()}
        med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
        rss = vm_hwm_mib()
        print(f"tile {tile}: {args.tile_size} m, delivery EPSG:{args.epsg}, {len(lazs)} LAZ file(s), "
              f"{total:,} points decoded, {points:,} gridded ({args.density:g} pts/m2); median of {args.repeat}")
        print("| what | wall | / decode | CPU (all threads) | / decode |")
        print("|---|---|---|---|---|")
        for k, label in (("decode", "laspy + lazrs decode, all dimensions (floor)"),
                         ("decode_needed", "laspy + lazrs decode, the stage's dimensions only"),
                         ("products", "compute_products (in memory)"),
                         ("stage", "run_lidar (COGs, thumbnail, item)")):
            print(f"| {label} | {med[k]:.2f} s | {med[k] / med['decode']:.2f} | {med_cpu[k]:.2f} s | "
                  f"{med_cpu[k] / med_cpu['decode']:.2f} |")
        paired = statistics.median(p / d for p, d in zip(cpu["products"], cpu["decode"], strict=True))
        print(f"compute_products / floor, CPU, median of the {args.repeat} repeats' own ratios (each against the "
              f"decode run just before it, so slow minutes cancel): {paired:.2f}")
        print(f"peak memory (VmHWM) of the process: {rss:.0f} MiB")
    copc_query()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
