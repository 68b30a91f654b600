# Writes the .npy fixtures of NpyTests with NumPy (run once with Debian's /usr/bin/python3, numpy 1.24):
#   cd tests/GrpcExplain.Cli.Tests/Fixtures && /usr/bin/python3 make_npy.py
import numpy as np

a = (np.arange(6, dtype='<f4').reshape(2, 3) - 2.5) / 4
np.save('f4_2x3.npy', a)
with open('f4_2x3_v2.npy', 'wb') as f:
    np.lib.format.write_array(f, a, version=(2, 0))
np.save('f8_2x3.npy', a.astype('<f8'))
np.save('f4_big_endian.npy', a.astype('>f4'))
np.save('f4_fortran.npy', np.asfortranarray(a))
np.save('f4_scalar.npy', np.float32(1.5))
np.save('f4_1d.npy', np.array([1, 2, 3], dtype='<f4'))
np.save('f4_2x1x3.npy', a.reshape(2, 1, 3))
