#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "data_test_util.hpp"
#include "io/h5_write.hpp"

namespace {

using hpcb::DataError;
using hpcb::h5::AtomicH5File;
using hpcb::h5::DatasetWriter;
using hpcb::h5::DType;
using hpcb::datatest::h5_dims;
using hpcb::datatest::h5_read_all;
using hpcb::datatest::ScratchDir;

class H5Write : public ::testing::Test {
 protected:
  void SetUp() override { hpcb::h5::silence_errors(); }
  ScratchDir dir;
};

template <class T>
std::string bytes_hash(const std::vector<T>& v) {
  hpcb::Sha256 h;
  h.update(v.data(), v.size() * sizeof(T));
  return h.hex();
}

TEST_F(H5Write, RoundTripAllTypesInRowRanges) {
  const std::string path = dir.file("rt.h5");
  const std::uint64_t n = 1000, d = 7;
  std::vector<float> xf(n * d);
  std::vector<double> xd(n * d);
  std::vector<std::uint8_t> xu(n * d);
  std::vector<std::int32_t> labels(n);
  for (std::size_t i = 0; i < n * d; ++i) {
    xf[i] = static_cast<float>(i) * 0.25f - 3.0f;
    xd[i] = static_cast<double>(i) / 3.0 - 1e6;
    xu[i] = static_cast<std::uint8_t>(i % 251);
  }
  for (std::size_t i = 0; i < n; ++i) labels[i] = static_cast<std::int32_t>(i % 13) - 6;
  {
    AtomicH5File f(path);
    DatasetWriter wf(f, "/Xf", DType::f32, n, d);
    DatasetWriter wd(f, "/Xd", DType::f64, n, d);
    DatasetWriter wu(f, "/Xu", DType::u8, n, d);
    DatasetWriter wl(f, "/labels", DType::i32, n);
    for (std::uint64_t r0 = 0; r0 < n; r0 += 333) {  // uneven chunks, last one short
      const std::uint64_t r1 = std::min(n, r0 + 333);
      wf.write_rows(r0, r1, xf.data() + r0 * d);
      wd.write_rows(r0, r1, xd.data() + r0 * d);
      wu.write_rows(r0, r1, xu.data() + r0 * d);
      wl.write_rows(r0, r1, labels.data() + r0);
    }
    EXPECT_EQ(wf.sha256(), bytes_hash(xf));
    EXPECT_EQ(wd.sha256(), bytes_hash(xd));
    EXPECT_EQ(wu.sha256(), bytes_hash(xu));
    EXPECT_EQ(wl.sha256(), bytes_hash(labels));
    f.commit();
  }
  EXPECT_EQ(h5_dims(path, "/Xf"), (std::vector<hsize_t>{n, d}));
  EXPECT_EQ(h5_dims(path, "/labels"), (std::vector<hsize_t>{n}));
  EXPECT_EQ(h5_read_all<float>(path, "/Xf", H5T_NATIVE_FLOAT), xf);
  EXPECT_EQ(h5_read_all<double>(path, "/Xd", H5T_NATIVE_DOUBLE), xd);
  EXPECT_EQ(h5_read_all<std::uint8_t>(path, "/Xu", H5T_NATIVE_UINT8), xu);
  EXPECT_EQ(h5_read_all<std::int32_t>(path, "/labels", H5T_NATIVE_INT32), labels);
}

TEST_F(H5Write, StoredTypesAreLittleEndianAndContiguous) {
  const std::string path = dir.file("layout.h5");
  {
    AtomicH5File f(path);
    hpcb::h5::write_vector(f, "/u8", std::vector<std::uint8_t>{1, 2});
    hpcb::h5::write_vector(f, "/i32", std::vector<std::int32_t>{1, 2});
    hpcb::h5::write_vector(f, "/f32", std::vector<float>{1, 2});
    hpcb::h5::write_vector(f, "/f64", std::vector<double>{1, 2});
    f.commit();
  }
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const std::pair<const char*, hid_t> expected[] = {{"/u8", H5T_STD_U8LE},
                                                    {"/i32", H5T_STD_I32LE},
                                                    {"/f32", H5T_IEEE_F32LE},
                                                    {"/f64", H5T_IEEE_F64LE}};
  for (const auto& [name, type] : expected) {
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t t = H5Dget_type(ds);
    hid_t dcpl = H5Dget_create_plist(ds);
    EXPECT_GT(H5Tequal(t, type), 0) << name;
    EXPECT_EQ(H5Pget_layout(dcpl), H5D_CONTIGUOUS) << name;
    H5Pclose(dcpl);
    H5Tclose(t);
    H5Dclose(ds);
  }
  H5Fclose(file);
}

TEST_F(H5Write, MatrixVectorAndAttributes) {
  const std::string path = dir.file("attrs.h5");
  const std::vector<double> m{1, 2, 3, 4, 5, 6};
  std::string m_hash;
  {
    AtomicH5File f(path);
    m_hash = hpcb::h5::write_matrix(f, "/centroids", 2, 3, m.data());
    hpcb::h5::write_vector(f, "/group/inertia", std::vector<double>{9.5, 8.25});
    hpcb::h5::write_attribute(f, "/", "source", "unit test");
    hpcb::h5::write_attribute(f, "/", "empty", "");
    hpcb::h5::write_attribute(f, "/centroids", "scale", 1.0 / 255.0);
    hpcb::h5::write_attribute(f, "/", "source", std::string("replaced"));  // overwrite
    f.commit();
  }
  EXPECT_EQ(m_hash, bytes_hash(m));
  EXPECT_EQ(h5_dims(path, "/centroids"), (std::vector<hsize_t>{2, 3}));
  EXPECT_EQ(h5_read_all<double>(path, "/centroids", H5T_NATIVE_DOUBLE), m);
  EXPECT_EQ(h5_read_all<double>(path, "/group/inertia", H5T_NATIVE_DOUBLE),
            (std::vector<double>{9.5, 8.25}));
  EXPECT_EQ(hpcb::datatest::h5_string_attr(path, "/", "source"), "replaced");
  EXPECT_EQ(hpcb::datatest::h5_string_attr(path, "/", "empty"), "");
  EXPECT_EQ(hpcb::datatest::h5_double_attr(path, "/centroids", "scale"), 1.0 / 255.0);
}

TEST_F(H5Write, EmptyDataset) {
  const std::string path = dir.file("empty.h5");
  {
    AtomicH5File f(path);
    EXPECT_EQ(hpcb::h5::write_vector(f, "/inertia", std::vector<double>{}), hpcb::sha256_hex(""));
    f.commit();
  }
  EXPECT_EQ(h5_dims(path, "/inertia"), (std::vector<hsize_t>{0}));
  EXPECT_TRUE(h5_read_all<double>(path, "/inertia", H5T_NATIVE_DOUBLE).empty());
}

TEST_F(H5Write, UncommittedFileLeavesNothing) {
  const std::string path = dir.file("out.h5");
  {
    AtomicH5File f(path);
    hpcb::h5::write_vector(f, "/x", std::vector<double>{1, 2, 3});
    EXPECT_TRUE(std::filesystem::exists(f.temp_path()));
    EXPECT_EQ(std::filesystem::path(f.temp_path()).parent_path(), dir.path());
    EXPECT_FALSE(std::filesystem::exists(path));  // nothing at the final name before commit
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST_F(H5Write, ExceptionBeforeCommitKeepsTheOldFile) {
  const std::string path = dir.file("out.h5");
  {
    AtomicH5File f(path);
    hpcb::h5::write_vector(f, "/x", std::vector<double>{1});
    f.commit();
  }
  try {
    AtomicH5File f(path);
    hpcb::h5::write_vector(f, "/x", std::vector<double>{2, 2});
    throw DataError("failure half-way");
  } catch (const DataError&) {
  }
  EXPECT_EQ(h5_read_all<double>(path, "/x", H5T_NATIVE_DOUBLE), std::vector<double>{1});
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.h5"});
  {
    AtomicH5File f(path);  // and a commit replaces it
    hpcb::h5::write_vector(f, "/x", std::vector<double>{3, 3});
    f.commit();
    EXPECT_THROW(f.commit(), DataError);
  }
  EXPECT_EQ(h5_read_all<double>(path, "/x", H5T_NATIVE_DOUBLE), (std::vector<double>{3, 3}));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.h5"});
}

TEST_F(H5Write, ErrorsNameFileAndDataset) {
  const std::string path = dir.file("err.h5");
  AtomicH5File f(path);
  EXPECT_EQ(hpcb::h5::display_name(f), path);  // the temporary prefix is hidden
  DatasetWriter w(f, "/X", DType::f32, 10, 2);
  const std::vector<double> wrong_type(20);
  try {
    w.write_rows(0, 10, wrong_type.data());
    FAIL() << "a float64 write into a float32 dataset must throw";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/X"), std::string::npos) << e.what();
  }
  const std::vector<float> rows(22);
  EXPECT_THROW(w.write_rows(5, 11, rows.data()), DataError);      // past the end
  EXPECT_THROW(w.write_rows(5, 4, rows.data()), DataError);       // reversed
  EXPECT_THROW(DatasetWriter(f, "/X", DType::u8, 3), DataError);  // exists already
}

TEST_F(H5Write, HashNeedsEveryRowOnceInOrder) {
  AtomicH5File f(dir.file("order.h5"));
  const std::vector<std::int32_t> v{1, 2, 3, 4};
  DatasetWriter partial(f, "/a", DType::i32, 4);
  partial.write_rows(0, 2, v.data());
  EXPECT_THROW(partial.sha256(), DataError);
  DatasetWriter reversed(f, "/b", DType::i32, 4);
  reversed.write_rows(2, 4, v.data() + 2);
  reversed.write_rows(0, 2, v.data());
  EXPECT_THROW(reversed.sha256(), DataError);
  DatasetWriter ordered(f, "/c", DType::i32, 4);
  ordered.write_rows(0, 0, v.data());  // empty ranges are harmless
  ordered.write_rows(0, 3, v.data());
  ordered.write_rows(3, 4, v.data() + 3);
  EXPECT_EQ(ordered.sha256(), bytes_hash(v));
}

TEST_F(H5Write, MissingFolderIsADataError) {
  const std::string path = dir.file("no/such/folder/out.h5");
  try {
    AtomicH5File f(path);
    FAIL() << "creating a file in a missing folder must throw";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
