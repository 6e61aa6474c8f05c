"""Write the two sample 附表1 survey workbooks in data/sample/surveys/ (texts are literal, hand-written).

Workbook 1 has one enterprise per sheet with answers beside the labels and ticked boxes; workbook 2
stacks three enterprises in blocks on one sheet with long answers below their labels, plus a
下拉选项 sheet that is not a form.
"""

from pathlib import Path

from openpyxl import Workbook

from matcher.ingest.survey_form import write_form

OUT = Path(__file__).resolve().parents[1] / "data" / "sample" / "surveys"

XIANGDONG = [
    {
        "name": "萍乡市湘东区瑞拓化工填料有限公司",
        "industry": "工业陶瓷",
        "county": "湘东区",
        "contact_person": "钟卫东",
        "contact_phone": "0799-3412876",
        "has_rd_platform": "有☑  无□",
        "high_tech": "是☑  否□",
        "above_scale": "是☑  否□",
        "rd_conditions": "有市级企业技术中心1个，研发人员11人；有隧道窑2条、梭式窑1座，"
        "压力试验机、比表面积测定仪各1台，没有扫描电镜，送样都要去南昌。",
        "cooperation": "2023年和萍乡学院做过一个规整填料的横向课题，已结题。下一步想对接景德镇陶瓷大学、"
        "中南大学，最好能长期合作共建一个实验室。",
        "needs": "1、鲍尔环、矩鞍环这类散堆填料在客户的硫酸装置上用一年多就掉块、粉化，"
        "客户投诉多，想知道怎么提高耐酸性和抗热震性；2、窑炉天然气费用占成本近三成，"
        "烧成曲线一直是老师傅凭经验定的，希望有人帮我们优化；3、想开发用于VOCs焚烧炉的蓄热陶瓷，不知道从哪入手。",
        "innovation_plan": "明年申报高新技术企业复审，新增研发投入200万元，引进1名硕士。",
    },
    {
        "name": "萍乡市鑫源精密陶瓷科技有限公司",
        "industry": "先进陶瓷",
        "county": "湘东区",
        "contact_person": "易小红",
        "contact_phone": "13807990512",
        "has_rd_platform": "有□  无☑",
        "high_tech": "是□  否☑",
        "above_scale": "是☑  否□",
        "rd_conditions": "公司主要生产氧化铝陶瓷基片和陶瓷柱塞，有干压机6台、等静压机1台，"
        "检测只能测尺寸和密度。",
        "cooperation": "暂未开展产学研合作。拟对接中国科学院上海硅酸盐研究所、萍乡市工业陶瓷产业技术研究院。",
        "needs": "氧化铝基片做薄以后翘曲严重，0.38mm的片子平整度达不到客户要求，烧出来一摞一摞地报废，"
        "客户还要求导热更好的氮化铝基片，我们没有技术储备。",
        "innovation_plan": "争取两年内建成市级研发平台，申报高新技术企业。",
    },
    {
        "name": "萍乡市萍实电瓷有限公司",
        "industry": "电瓷电气",
        "county": "芦溪县",
        "contact_person": "彭国庆",
        "contact_phone": "0799-7561230",
        "has_rd_platform": "有☑  无□",
        "high_tech": "是☑  否□",
        "above_scale": "是☑  否□",
        "rd_conditions": "有省级工程技术研究中心，配有工频耐压试验装置、机电负荷试验机、X光探伤机。",
        "cooperation": "与华东交通大学合作开展过绝缘子污闪研究。下一步拟对接中国电力科学研究院、清华大学。",
        "needs": "一是高强度瓷绝缘子批量生产时内部有气孔，靠X光抽检发现不全，想上在线检测；"
        "二是出口订单要求釉面耐污性能更好，现在的釉配方是十几年前的；三是想把生产数据管起来，搞数字化车间。",
        "innovation_plan": "建设特高压瓷绝缘子智能化生产线，申报省级专精特新企业。",
    },
]

LUXI = [
    {
        "name": "萍乡市武功山食品有限公司",
        "industry": "食品",
        "county": "芦溪县",
        "contact_person": "刘芳",
        "contact_phone": "13979950286",
        "has_rd_platform": "无",
        "high_tech": "否",
        "above_scale": "是",
        "rd_conditions": "有检测室一间，只能做水分、酸价和菌落总数，其他指标送第三方检测。",
        "cooperation": "没有开展过产学研合作，想找江西农业大学或者江南大学的老师看看。",
        "needs": "腊肉腊肠夏天货架期短，放到七八月容易发哈、长霉，客户退货多，不想多加防腐剂；"
        "另外真空包装后胀袋的问题一直没解决。",
        "innovation_plan": "建成标准化腊味生产车间，开发低盐产品，明年争取进规上。",
    },
    {
        "name": "江西萍源空压机制造有限公司",
        "industry": "空压机",
        "county": "芦溪县",
        "contact_person": "黄志强",
        "contact_phone": "0799-7689015",
        "has_rd_platform": "有",
        "high_tech": "是",
        "above_scale": "是",
        "rd_conditions": "有整机性能试验台2套、三坐标测量仪1台，转子磨床从德国进口。",
        "cooperation": "与西安交通大学有合作，正在做螺杆转子型线优化。拟对接南昌大学做远程监控。",
        "needs": "（1）75kW以上机型噪声偏大，客户现场实测超过80分贝；（2）想给售出的机器装上物联网模块，"
        "远程看运行状态，提前知道什么时候该换油、换滤芯，减少上门次数。",
        "innovation_plan": "开发二级压缩永磁变频机型，能效达到一级。",
    },
    {
        "name": "萍乡市金鼎环保科技有限公司",
        "industry": "节能环保",
        "county": "萍乡经济技术开发区",
        "contact_person": "肖明",
        "contact_phone": "18970966203",
        "has_rd_platform": "有",
        "high_tech": "是",
        "above_scale": "否",
        "rd_conditions": "有中试车间300平方米，小型固定床评价装置1套。",
        "cooperation": "曾与江西理工大学合作脱硝催化剂项目，下一步拟对接中国科学院过程工程研究所。",
        "needs": "陶瓷厂窑炉烟气里氟化物和SO2一起超标，现有湿法脱硫塔除氟效果差，"
        "环保督察压力大，希望找到一套投资不高、运行费用低的协同治理办法。",
        "innovation_plan": "申报省级工程研究中心。",
    },
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    book.remove(book.active)
    for answers in XIANGDONG:
        write_form(book.create_sheet(answers["name"][5:14]), answers)
    book.save(OUT / "三清零摸底表_湘东区芦溪县_2026年10月.xlsx")

    book = Workbook()
    sheet = book.active
    sheet.title = "摸底表"
    top = 1
    for answers in LUXI:
        top = write_form(sheet, answers, top=top, long_below=True)
    options = book.create_sheet("下拉选项")
    for row in (["是", "否"], ["有", "无"]):
        options.append(row)
    book.save(OUT / "三清零摸底表_芦溪县经开区_2026年10月.xlsx")


if __name__ == "__main__":
    main()
