import useImageUpload from './useImageUpload';

const CLOUDFRONT_URL = 'https://your.cloudfront.net';
function App() {
  const { onUploadFile, fileNameList } = useImageUpload();

  return (
    <>
      <div>
        <input
          onChange={onUploadFile}
          type="file"
          accept="image/png, image/jpeg, image/jpg"
        />

        <div>
          { /* CloudFront URL과 fileName의 조합으로 찾아옵니다. */}
          {fileNameList.map((fileName) => (
            <img key={fileName} src={`${CLOUDFRONT_URL}/${fileName}`} alt="" />
          ))}
        </div>
      </div>
    </>
  );
}

export default App;

